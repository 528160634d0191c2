"""Putting notices in the recipients' feeds (and their webhooks' queues) in the transaction that caused them,
and reading a feed back."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.events import AlertRaised, ClearanceState
from services.gateway.adapters import notification_store
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.errors import Forbidden
from services.gateway.domain.notifications import (
    CARRIER_STATES,
    Consignment,
    Notice,
    Recipient,
    carrier_notice,
)

GOODS_ARRIVED = "goods.arrived"
CONSIGNMENT_ALERT = "consignment.alert"
LISTENERS = (Role.TRADER, Role.CARRIER)


def consignment(declaration: Row[Any], arrival: Row[Any] | None) -> Consignment:
    return Consignment(
        declaration_id=declaration.id,
        lrn=declaration.lrn,
        version=declaration.version,
        declarant_id=declaration.declarant_id,
        importer_id=declaration.importer_id,
        carrier=arrival.reported_by if arrival is not None else None,
        transport_reference=arrival.transport_reference if arrival is not None else None,
        location=arrival.location if arrival is not None else None,
    )


async def goods_arrived(connection: AsyncConnection, declaration: Row[Any], arrival: Row[Any], now: datetime) -> None:
    """Traders hear that their goods were presented; a carrier reporting goods already released (lodged and
    decided before arrival) hears at once that it may move them."""
    goods = consignment(declaration, arrival)
    data = {
        "declaration_id": declaration.id,
        "lrn": declaration.lrn,
        "location": arrival.location,
        "transport_reference": arrival.transport_reference,
        "arrived_at": arrival.arrived_at.isoformat(),
    }
    notices = [Notice(trader, GOODS_ARRIVED, data) for trader in goods.traders]
    state = ClearanceState(declaration.state)
    if state in CARRIER_STATES:
        notices.append(carrier_notice(goods, state, now))
    await send(connection, notices, now)


async def alert_raised(connection: AsyncConnection, declaration: Row[Any], raised: AlertRaised, now: datetime) -> None:
    """The traders of a consignment flagged after its release hear why, to hold the goods where they are."""
    data = {
        "declaration_id": declaration.id,
        "lrn": declaration.lrn,
        "alert_id": raised.alert_id,
        "agency": raised.agency,
        "code": raised.code.value,
        "text": raised.text,
        "raised_at": raised.raised_at.isoformat(),
    }
    await send(
        connection, [Notice(trader, CONSIGNMENT_ALERT, data) for trader in consignment(declaration, None).traders], now
    )


async def send(connection: AsyncConnection, notices: list[Notice], now: datetime) -> None:
    """The notices added to their recipients' feeds, in order, with a delivery for each live webhook."""
    await notification_store.append(
        connection, [(str(notice.recipient), notice.type, notice.data) for notice in notices], now
    )


def recipient_of(caller: Caller) -> str:
    """The feed a key reads: its own (traders and carriers only)."""
    if caller.role not in LISTENERS:
        raise Forbidden(f"a {caller.role} key has no notifications: traders and carriers do")
    return str(Recipient(caller.role, caller.subject))


async def read(connection: AsyncConnection, caller: Caller, *, after: int, limit: int) -> list[Row[Any]]:
    return await notification_store.feed(connection, recipient_of(caller), after=after, limit=limit)
