"""The role-by-endpoint table, read from the gateway's router: who may call each operation.

Every business route carries a `Gate` naming its roles (and the grants that admit an operator); a route
without one is public. `python -m services.gateway.entrypoints.access` writes docs/access.md from the router;
`--check` fails when the committed table differs, so a new route cannot go without its row.
"""

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.contract.schema_export import write_or_check
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.domain.callers import Role
from services.gateway.entrypoints.deps import Gate
from services.gateway.entrypoints.http import routers
from services.gateway.settings import GatewaySettings

TABLE = Path(__file__).resolve().parents[3] / "docs" / "access.md"
ROLES = (Role.TRADER, Role.CARRIER, Role.NPPO, Role.OFFICER, Role.OPERATOR)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    gate: Gate | None
    """None: public, no key needed."""

    def admits(self, role: Role | None) -> str:
        """The cell of the table for `role` (None: no key): yes, no, or the grant an operator needs."""
        if self.gate is None:
            return "yes"
        if role is None:
            return "no"
        if role in self.gate.roles:
            return "yes"
        if role is Role.OPERATOR and self.gate.grants:
            return " or ".join(f"with `{grant}`" for grant in self.gate.grants)
        return "no"


def _gate(dependant: Dependant) -> Gate | None:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Gate):
            return dependency.call
        found = _gate(dependency)
        if found is not None:
            return found
    return None


def operations(gateway: Gateway) -> Iterator[Operation]:
    for router in routers(gateway):
        for route in router.routes:
            assert isinstance(route, APIRoute), f"{route} is not an API route"
            for method in sorted(route.methods or ()):
                yield Operation(method, route.path, _gate(route.dependant))


def markdown(gateway: Gateway) -> str:
    header = ["method", "path", *ROLES, "no key"]
    lines = [
        "# Who may call what",
        "",
        "Generated from the gateway's router by `python -m services.gateway.entrypoints.access`; do not edit.",
        "`yes`: the role passes the endpoint's gate (its data is still its own: a trader reads its own",
        "declarations, an NPPO its country's certificates, an officer acts for its own agency; the rest is 404).",
        "`no`: 403 with a key of that role, 401 without a key. Operators read trade data only with the",
        "`trade:read` grant. Health, readiness and metrics are shown as configured by default",
        "(`SW_GATEWAY_OPS_PUBLIC=true`); with `false` they need an operator key.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for operation in operations(gateway):
        cells = [operation.admits(role) for role in (*ROLES, None)]
        lines.append(f"| {operation.method} | `{operation.path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def default_gateway() -> Gateway:
    """The gateway as it is configured by default, built without starting it."""
    return bootstrap(GatewaySettings(database_url="sqlite+aiosqlite:///:memory:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when docs/access.md is out of date")
    check = parser.parse_args().check
    write_or_check(
        {TABLE: markdown(default_gateway())}, check=check, regenerate="python -m services.gateway.entrypoints.access"
    )


if __name__ == "__main__":
    main()
