"""Carriers and terminals report the goods presented at the border; the release goes back to them."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.cloudevents import Envelope
from services.contract.events import ClearanceStatus, GoodsArrived
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.adapters.orm import arrivals
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.gateway.service_layer import declarations, notifications

CLOCK_SKEW = timedelta(minutes=5)


async def report(
    transaction: Transaction,
    *,
    declaration_id: str,
    caller: Caller,
    location: str,
    transport_reference: str | None,
    arrived_at: datetime | None,
    correlation_id: str,
    now: datetime,
    source: str,
) -> tuple[Row[Any], bool]:
    """Record the presentation of the goods once; the same report again returns the first (False)."""
    if caller.role is not Role.CARRIER:
        raise Forbidden("only carriers and terminals report arrivals")
    connection = transaction.connection
    # Locked (PostgreSQL): a cancellation committing meanwhile is waited for and seen, not reported past.
    declaration = await repository.declaration_for_update(connection, declaration_id)
    if declaration is None:
        raise NotFound(f"no declaration {declaration_id}: check the reference the trader gave you")
    arrived_at = arrived_at or now
    if arrived_at > now + CLOCK_SKEW:
        raise Unprocessable(f"arrived_at {arrived_at.isoformat()} is in the future", field="arrived_at")
    existing = await arrival_of(connection, declaration_id)
    if existing is not None:
        return _same_report(existing, location, transport_reference), False
    if declaration.status == ClearanceStatus.CANCELLED.value:
        raise Conflict(f"declaration {declaration_id} is cancelled: the goods are not declared under it")
    try:
        async with connection.begin_nested():
            await connection.execute(
                insert(arrivals).values(
                    declaration_id=declaration_id,
                    location=location,
                    transport_reference=transport_reference,
                    reported_by=caller.subject,
                    arrived_at=arrived_at,
                    reported_at=now,
                )
            )
    except IntegrityError:
        existing = await arrival_of(connection, declaration_id)  # reported by a concurrent request since we looked
        if existing is None:
            raise
        return _same_report(existing, location, transport_reference), False
    detail = {"location": location, "transport_reference": transport_reference, "reported_by": caller.subject}
    await repository.add_to_timeline(connection, declaration_id, arrived_at, "arrived", detail)
    event = GoodsArrived(
        declaration_id=declaration_id,
        location=location,
        transport_reference=transport_reference,
        reported_by=caller.subject,
        arrived_at=arrived_at,
    )
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id, time=now))
    stored = await arrival_of(connection, declaration_id)
    assert stored is not None
    await notifications.goods_arrived(connection, declaration, stored, now)
    return stored, True


async def arrival_of(connection: AsyncConnection, declaration_id: str) -> Row[Any] | None:
    return (await arrivals_of(connection, [declaration_id])).get(declaration_id)


_ARRIVALS_OF = select(arrivals).where(arrivals.c.declaration_id.in_(bindparam("ids", expanding=True)))


async def arrivals_of(connection: AsyncConnection, declaration_ids: list[str]) -> dict[str, Row[Any]]:
    """The arrivals reported of these declarations, by declaration id."""
    return {row.declaration_id: row for row in await connection.execute(_ARRIVALS_OF, {"ids": declaration_ids})}


async def get(connection: AsyncConnection, *, declaration_id: str, caller: Caller) -> tuple[Row[Any], Row[Any]]:
    """The arrival and its declaration, for the carrier that reported it and for those who may read the
    declaration."""
    declaration = await repository.declaration_by_id(connection, declaration_id)
    arrival = await arrival_of(connection, declaration_id)
    if declaration is None or arrival is None:
        raise NotFound(f"no arrival reported for declaration {declaration_id}")
    reporter = caller.role is Role.CARRIER and caller.subject == arrival.reported_by
    if not (reporter or declarations.can_read(caller, declaration)):
        raise NotFound(f"no arrival reported for declaration {declaration_id} that this API key may see")
    return arrival, declaration


def _same_report(existing: Row[Any], location: str, transport_reference: str | None) -> Row[Any]:
    if (existing.location, existing.transport_reference) != (location, transport_reference):
        raise Conflict(
            f"the goods were already reported at {existing.location} ({existing.transport_reference or 'no transport'})"
            f" at {existing.arrived_at.isoformat()}",
            field="location",
        )
    return existing
