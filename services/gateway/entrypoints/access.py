"""The role-by-endpoint table, read from the gateway's application: who may call each of its routes.

Every route of the application carries a `Gate` naming its roles (and the grants that admit an operator), or is
in `PUBLIC` with the reason anyone may call it; a route with neither stops the table. `python -m
services.gateway.entrypoints.access` writes docs/access.md from the application; `--check` fails when the
committed table differs, so a new route cannot go without its row.
"""

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from services.contract.schema_export import write_or_check
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.domain.callers import Role
from services.gateway.entrypoints.deps import Gate, gate_of
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings

TABLE = Path(__file__).resolve().parents[3] / "docs" / "access.md"
ROLES = (Role.TRADER, Role.CARRIER, Role.NPPO, Role.OFFICER, Role.OPERATOR)
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "the OpenAPI document: a public description of the API, no data",
    ("GET", "/docs"): "Swagger UI on the OpenAPI document",
    ("GET", "/docs/oauth2-redirect"): "Swagger UI's sign-in redirect page: static, no data",
    ("GET", "/redoc"): "ReDoc on the OpenAPI document",
    ("GET", "/health"): "liveness, for orchestrators and load balancers",
    ("GET", "/ready"): "readiness, for orchestrators and load balancers",
    ("GET", "/metrics"): "Prometheus metrics: counts and latencies, no trade data",
    ("GET", "/dashboard"): "the operator dashboard's page: no data in it; its script asks for an operator key",
    ("GET", "/dashboard/{name}"): "the dashboard's script and style sheet: static",
}
"""The routes anyone may call without a key, and why. Any other route needs a `Gate`."""


class UngatedRoute(Exception):
    """A route the table cannot place: it has no `Gate` and is not in `PUBLIC`, or it is not an HTTP route."""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    gate: Gate | None
    """None: public, no key needed; `PUBLIC` says why."""
    documented: bool = True
    """In the OpenAPI document (the dashboard's and the documents' own pages are not)."""
    why_public: str = ""
    """For a public operation, its reason from `PUBLIC`."""

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


def operations_of(app: FastAPI) -> Iterator[Operation]:
    """Every method of every route `app` answers, in the order it matches them, whatever registered it."""
    for route in iter_route_contexts(app.routes):
        path, methods = route.path_format, set(route.methods or ())
        if path is None or not methods:
            raise UngatedRoute(f"{route.original_route} is not an HTTP route (a mount, a websocket?): it has no row")
        dependant = getattr(route, "dependant", None)  # plain Starlette routes, such as /docs, have none
        gate = gate_of(dependant) if isinstance(dependant, Dependant) else None
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette answers HEAD wherever it answers GET
        for method in sorted(methods):
            why_public = PUBLIC.get((method, path), "") if gate is None else ""
            if gate is None and not why_public:
                raise UngatedRoute(
                    f"{method} {path} has no Gate: give it one (deps.allow) or, if anyone may call it, list it in "
                    "access.PUBLIC with the reason"
                )
            yield Operation(method, path, gate, documented=bool(route.include_in_schema), why_public=why_public)


def operations(gateway: Gateway) -> Iterator[Operation]:
    """Every operation of the application `create_app(gateway)` builds."""
    return operations_of(create_app(gateway))


def markdown(gateway: Gateway) -> str:
    table = list(operations(gateway))
    header = ["method", "path", *ROLES, "no key"]
    lines = [
        "# Who may call what",
        "",
        "Generated from every route of the gateway's application by `python -m services.gateway.entrypoints.access`;",
        "do not edit. A route is either behind a gate (first table) or public for the reason given (second table).",
        "",
        "## With an API key",
        "",
        "`yes`: the role passes the endpoint's gate (its data is still its own: a trader reads its own",
        "declarations, an NPPO its country's certificates, an officer acts for its own agency; the rest is 404).",
        "`no`: 403 with a key of that role, 401 without a key. Operators read trade data only with the",
        "`trade:read` grant.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for operation in table:
        if operation.gate is not None:
            cells = [operation.admits(role) for role in (*ROLES, None)]
            lines.append(f"| {operation.method} | `{operation.path}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Public: no key needed",
        "",
        "Health, readiness and metrics are public as configured by default (`SW_GATEWAY_OPS_PUBLIC=true`); with",
        "`false` they need an operator key. `*`: not in the OpenAPI document.",
        "",
        "| method | path | why |",
        "| --- | --- | --- |",
    ]
    for operation in table:
        if operation.gate is None:
            mark = "" if operation.documented else " *"
            lines.append(f"| {operation.method} | `{operation.path}`{mark} | {operation.why_public} |")
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
