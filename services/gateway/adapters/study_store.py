"""Reads the records the Time Release Study is computed from: one Consignment per declaration lodged."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.adapters.orm import agency_decisions, arrivals, declarations, timeline
from services.gateway.domain.release_study import NO_LANE, UNKNOWN, Consignment


class TooManyConsignments(Exception):
    """The period holds more declarations than one study reads at once."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the period holds more than {limit} declarations; choose a shorter one")
        self.limit = limit


async def consignments_lodged(
    connection: AsyncConnection, since: datetime, until: datetime, *, limit: int
) -> list[Consignment]:
    """Every declaration first lodged in [since, until), with its arrival, decisions and release."""
    in_period = (declarations.c.submitted_at >= since, declarations.c.submitted_at < until)
    lodged = select(declarations.c.id).where(*in_period).scalar_subquery()
    rows = list(
        await connection.execute(
            select(
                declarations.c.id,
                declarations.c.submitted_at,
                declarations.c.required_agencies,
                declarations.c.body,
                arrivals.c.location,
                arrivals.c.arrived_at,
            )
            .outerjoin(arrivals, arrivals.c.declaration_id == declarations.c.id)
            .where(*in_period)
            .order_by(declarations.c.submitted_at, declarations.c.id)
            .limit(limit + 1)
        )
    )
    if len(rows) > limit:
        raise TooManyConsignments(limit)
    decided: dict[str, dict[str, datetime]] = defaultdict(dict)
    lanes: dict[str, str] = {}
    for decision in await connection.execute(
        select(
            agency_decisions.c.declaration_id,
            agency_decisions.c.agency,
            agency_decisions.c.decided_at,
            agency_decisions.c.details,
        )
        .where(agency_decisions.c.declaration_id.in_(lodged))
        .order_by(agency_decisions.c.decided_at, agency_decisions.c.sequence)
    ):
        firsts = decided[decision.declaration_id]
        if decision.agency not in firsts:
            firsts[decision.agency] = decision.decided_at
            if decision.agency == "customs":
                lanes[decision.declaration_id] = str(decision.details.get("lane") or NO_LANE)
    released: dict[str, datetime] = {}
    for entry in await connection.execute(
        select(timeline.c.declaration_id, timeline.c.at, timeline.c.detail)
        .where(timeline.c.kind == "clearance", timeline.c.declaration_id.in_(lodged))
        .order_by(timeline.c.id)
    ):
        if entry.detail.get("state", entry.detail.get("status")) == "released":
            released.setdefault(entry.declaration_id, entry.at)
    return [_consignment(row, decided[row.id], lanes.get(row.id, NO_LANE), released.get(row.id)) for row in rows]


def _consignment(
    row: Row[Any, Any, Any, Any, Any, Any], decided: dict[str, datetime], lane: str, released_at: datetime | None
) -> Consignment:
    body: dict[str, Any] = row.body
    chapters = frozenset(str(item.get("commodity_code", ""))[:2] for item in body.get("goods_items", []))
    return Consignment(
        declaration_id=row.id,
        lodged_at=row.submitted_at,
        required_agencies=tuple(row.required_agencies),
        hs_chapters=frozenset(chapter for chapter in chapters if len(chapter) == 2),
        office=row.location or body.get("point_of_entry") or UNKNOWN,
        lane=lane,
        arrived_at=row.arrived_at,
        released_at=released_at,
        first_decisions=decided,
    )
