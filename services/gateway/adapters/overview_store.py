"""Reads the figures of the operator overview from the gateway database: counts, decision mix, who waits."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.events import ClearanceState
from services.gateway.adapters.orm import agency_decisions, declarations
from services.gateway.adapters.repository import decisions_of
from services.gateway.domain.clearance import latest_decisions

FINAL_STATES = (ClearanceState.RELEASED, ClearanceState.REFUSED, ClearanceState.CANCELLED)


@dataclass(frozen=True)
class Counts:
    lodged: int
    decisions: int
    released: int


@dataclass(frozen=True)
class MixRow:
    agency: str
    outcome: str
    lane: str
    count: int


@dataclass(frozen=True)
class Waiting:
    declaration_id: str
    state: str
    lodged_at: datetime
    waiting_for: list[str]
    """Each required agency not yet decided on this version, or holding the goods, with why."""


async def counts_since(connection: AsyncConnection, since: datetime) -> Counts:
    """Declarations lodged, agency decisions received and releases decided since `since`."""
    lodged = await connection.scalar(
        select(func.count()).select_from(declarations).where(declarations.c.submitted_at >= since)
    )
    decided = await connection.scalar(
        select(func.count()).select_from(agency_decisions).where(agency_decisions.c.received_at >= since)
    )
    released = await connection.scalar(
        select(func.count())
        .select_from(declarations)
        .where(declarations.c.state == ClearanceState.RELEASED.value, declarations.c.updated_at >= since)
    )
    return Counts(lodged or 0, decided or 0, released or 0)


async def decision_mix(connection: AsyncConnection, since: datetime) -> list[MixRow]:
    """Agency decisions received since `since`, by agency, outcome and customs lane."""
    lane = agency_decisions.c.details["lane"].as_string()
    rows = await connection.execute(
        select(agency_decisions.c.agency, agency_decisions.c.outcome, lane.label("lane"), func.count().label("n"))
        .where(agency_decisions.c.received_at >= since)
        .group_by(agency_decisions.c.agency, agency_decisions.c.outcome, lane)
        .order_by(agency_decisions.c.agency, agency_decisions.c.outcome, lane)
    )
    return [MixRow(row.agency, row.outcome, row.lane or "none", row.n) for row in rows]


async def waiting_longest(connection: AsyncConnection, limit: int) -> list[Waiting]:
    """The declarations not yet released, refused or cancelled that were lodged first, and for whom they wait."""
    rows = list(
        await connection.execute(
            select(
                declarations.c.id,
                declarations.c.state,
                declarations.c.version,
                declarations.c.submitted_at,
                declarations.c.required_agencies,
            )
            .where(declarations.c.state.not_in([state.value for state in FINAL_STATES]))
            .order_by(declarations.c.submitted_at, declarations.c.id)
            .limit(limit)
        )
    )
    waiting = []
    for row in rows:
        recorded = await decisions_of(connection, row.id)
        latest = latest_decisions((entry.decision for entry in recorded), row.version)
        awaited = []
        for agency in row.required_agencies:
            last = latest.get(agency)
            if last is None:
                awaited.append(f"{agency}: no decision yet")
            elif last.outcome.value in ("held", "refused"):
                codes = ", ".join(reason.code for reason in last.reasons) or "no reason given"
                awaited.append(f"{agency}: {last.outcome.value} ({codes})")
        waiting.append(Waiting(row.id, row.state, row.submitted_at, awaited))
    return waiting
