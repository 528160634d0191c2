"""Steady load of submissions during a fault, and the reconciliation that follows it."""

import asyncio
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from tests.support import payloads
from tests.support.artifacts import keep
from tests.support.in_process import TRADER_KEY


@dataclass
class Load:
    """What a steady load submitted and what the gateway accepted (committed: 201)."""

    rate: float
    submitted: int = 0
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)


def declaration_body(n: int, certificate_number: str) -> dict[str, object]:
    """Every other declaration is of plants (customs and phyto), the others of laptops (customs only)."""
    if n % 2:
        return payloads.declaration(certificate_number)
    body = payloads.declaration(None)
    body["goods_items"][0] |= {"commodity_code": "84713000", "description": "Laptops"}
    return body


async def steady_load(load: Load, gateway_url: str, *, seconds: float, certificate_number: str) -> Load:
    """Submit at a fixed offered rate (open loop: a slow answer does not slow the next submission).

    `load` fills in while it runs, so a test can inject its fault once enough was accepted.
    """
    rate = load.rate
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:

        async def submit(n: int) -> None:
            try:
                response = await client.post(
                    "/v1/declarations", json=declaration_body(n, certificate_number), headers=TRADER_KEY
                )
            except httpx.HTTPError as exc:
                load.refused[type(exc).__name__] = load.refused.get(type(exc).__name__, 0) + 1
                return
            if response.status_code == 201:
                load.accepted.append(response.json()["id"])
            else:
                load.refused[str(response.status_code)] = load.refused.get(str(response.status_code), 0) + 1

        started, tasks = time.monotonic(), []
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))  # pacing the offered load
            tasks.append(asyncio.create_task(submit(n)))
            load.submitted += 1
        await asyncio.gather(*tasks)
    return load


def _sqlite(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        return list(connection.execute(sql))


async def query(database: Path | str, sql: str) -> list[tuple[object, ...]]:
    """Rows from a service's database: an SQLite file, or a PostgreSQL URL (postgresql://...)."""
    if isinstance(database, Path):
        return await asyncio.to_thread(_sqlite, database, sql)
    connection = await asyncpg.connect(database)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


@dataclass(frozen=True)
class Reconciliation:
    accepted: int
    decided: int
    lost: int
    duplicated: int
    stuck: int
    recovery_seconds: float
    """From the end of the fault until every accepted declaration was released (the load may still run)."""
    drained_seconds: float
    """From the end of the load until every accepted declaration was released: the backlog left to drain."""

    def line(self, fault: str, load: Load) -> str:
        return (
            f"{fault}: offered {load.rate:.0f}/s, submitted {load.submitted}, accepted {self.accepted}, "
            f"refused {load.refused or 0}, decided {self.decided}, lost {self.lost}, duplicated {self.duplicated}, "
            f"stuck {self.stuck}, recovery {self.recovery_seconds:.1f} s (drained {self.drained_seconds:.1f} s after "
            "the load)"
        )


async def reconcile(
    state_dir: Path, accepted: list[str], *, fault_ended: float, within: float, gateway_database: str | None = None
) -> Reconciliation:
    """Wait until every accepted declaration is released; then count what was lost or decided twice.

    Called once the load has ended."""
    load_ended = time.monotonic()
    databases = state_dir / "db"
    gateway: Path | str = gateway_database or databases / "gateway.db"
    wanted = set(accepted)
    deadline = time.monotonic() + within
    while True:
        released = {row[0] for row in await query(gateway, "SELECT id FROM declarations WHERE status = 'released'")}
        if wanted <= released or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    recovery, drained = time.monotonic() - fault_ended, time.monotonic() - load_ended
    # A duplicate is two different decision ids for one declaration, version, agency and sequence, as the
    # gateway received them; customs (no inspections yet) must also decide once per declaration version.
    # Phyto may rightly decide twice (held while the certificate is awaited, then released).
    gateway_duplicates = await query(
        gateway,
        "SELECT declaration_id FROM agency_decisions GROUP BY declaration_id, agency, declaration_version, sequence "
        "HAVING COUNT(DISTINCT event_id) > 1",
    )
    customs = await query(
        databases / "customs.db",
        "SELECT declaration_id, COUNT(*) FROM customs_decisions GROUP BY declaration_id, declaration_version",
    )
    decided_by_customs = {row[0] for row in customs}
    duplicated = len(gateway_duplicates) + sum(1 for row in customs if int(str(row[1])) > 1)
    return Reconciliation(
        accepted=len(wanted),
        decided=len(wanted & released),
        lost=len(wanted - decided_by_customs),
        duplicated=duplicated + len(gateway_duplicates),
        stuck=len(wanted - released),
        recovery_seconds=recovery,
        drained_seconds=drained,
    )


def report(line: str) -> None:
    """Keep the figures of every fault run beside the test results (test-artifacts/ is not committed)."""
    keep("fault-report.txt", line + "\n", append=True)
    sys.stdout.write(line + "\n")
