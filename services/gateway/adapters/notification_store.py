"""Queries of the notification feeds, webhooks, their deliveries and attempts; each runs in the caller's
transaction."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from services.gateway.adapters.orm import (
    notification_heads,
    notifications,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)

PENDING, DELIVERED, ABANDONED = "pending", "delivered", "abandoned"
_carried = and_(  # a delivery and the notification it carries
    notifications.c.recipient == webhook_deliveries.c.recipient,
    notifications.c.sequence == webhook_deliveries.c.sequence,
)


async def append(
    connection: AsyncConnection, notices: Sequence[tuple[str, str, dict[str, Any]]], now: datetime
) -> None:
    """Add notifications, each (recipient, type, data), to their recipients' feeds in order, and a pending delivery
    for each live webhook of the recipient. Recipients take their sequences one at a time in a fixed order, and
    each head row stays locked until commit: sequences commit in order, and two transactions never wait on each
    other's heads."""
    if not notices:
        return
    by_recipient: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for recipient, kind, data in notices:
        by_recipient.setdefault(recipient, []).append((kind, data))
    rows: list[dict[str, Any]] = []
    for recipient in sorted(by_recipient):
        entries = by_recipient[recipient]
        first = await _take_sequences(connection, recipient, len(entries))
        rows += [
            {
                "recipient": recipient,
                "sequence": first + n,
                "id": str(ULID()),
                "type": kind,
                "data": data,
                "created_at": now,
            }
            for n, (kind, data) in enumerate(entries)
        ]
    await connection.execute(_INSERT_NOTIFICATION, rows)
    live: dict[str, list[str]] = {}
    for webhook_id, owner in await connection.execute(_LIVE_WEBHOOKS, {"owners": sorted(by_recipient)}):
        live.setdefault(owner, []).append(webhook_id)
    deliveries = [
        {
            "id": str(ULID()),
            "webhook_id": webhook_id,
            "recipient": row["recipient"],
            "sequence": row["sequence"],
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for row in rows
        for webhook_id in live.get(row["recipient"], ())
    ]
    if deliveries:
        await connection.execute(_INSERT_DELIVERY, deliveries)


_INSERT_NOTIFICATION = insert(notifications)
_INSERT_DELIVERY = insert(webhook_deliveries)
_LIVE_WEBHOOKS = (
    select(webhooks.c.id, webhooks.c.owner)
    .where(webhooks.c.owner.in_(bindparam("owners", expanding=True)), webhooks.c.deleted_at.is_(None))
    .order_by(webhooks.c.owner, webhooks.c.id)
)


async def _take_sequences(connection: AsyncConnection, recipient: str, count: int) -> int:
    """The first of `count` sequences taken for the recipient's next notifications: its head row, created at
    `count` or moved on by `count`, in one statement."""
    bumped = await connection.execute(_TAKE[connection.dialect.name], {"recipient": recipient, "last_sequence": count})
    return int(bumped.scalar_one()) - count + 1


def _taking(dialect: Any) -> Any:
    statement = dialect.insert(notification_heads)
    return statement.on_conflict_do_update(
        index_elements=["recipient"],
        set_={"last_sequence": notification_heads.c.last_sequence + statement.excluded.last_sequence},
    ).returning(notification_heads.c.last_sequence)


_TAKE = {"postgresql": _taking(postgresql), "sqlite": _taking(sqlite)}  # built once, as the inserts above


async def feed(connection: AsyncConnection, recipient: str, *, after: int, limit: int) -> list[Row[Any]]:
    query = (
        select(notifications)
        .where(notifications.c.recipient == recipient, notifications.c.sequence > after)
        .order_by(notifications.c.sequence)
        .limit(limit)
    )
    return list(await connection.execute(query))


async def last_sequence(connection: AsyncConnection, recipient: str) -> int:
    query = select(notification_heads.c.last_sequence).where(notification_heads.c.recipient == recipient)
    return int(await connection.scalar(query) or 0)


async def insert_webhook(connection: AsyncConnection, values: dict[str, Any]) -> None:
    await connection.execute(insert(webhooks).values(**values))


async def webhooks_of(connection: AsyncConnection, owner: str) -> list[Row[Any]]:
    query = select(webhooks).where(webhooks.c.owner == owner, webhooks.c.deleted_at.is_(None)).order_by(webhooks.c.id)
    return list(await connection.execute(query))


async def webhook(connection: AsyncConnection, webhook_id: str) -> Row[Any] | None:
    query = select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.deleted_at.is_(None))
    return (await connection.execute(query)).first()


async def update_webhook(connection: AsyncConnection, webhook_id: str, **values: Any) -> None:
    await connection.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))


async def due_deliveries(connection: AsyncConnection, now: datetime, limit: int) -> list[Row[Any]]:
    """Pending deliveries whose time has come, to webhooks that are neither disabled nor deleted, oldest first,
    each with its webhook's URL and secret and the notification it carries (notification_id, type, data,
    notified_at)."""
    query = (
        select(
            webhook_deliveries,
            webhooks.c.url,
            webhooks.c.secret,
            notifications.c.id.label("notification_id"),
            notifications.c.type,
            notifications.c.data,
            notifications.c.created_at.label("notified_at"),
        )
        .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
        .join(notifications, _carried)
        .where(
            webhook_deliveries.c.state == PENDING,
            webhook_deliveries.c.next_attempt_at <= now,
            webhooks.c.disabled_at.is_(None),
            webhooks.c.deleted_at.is_(None),
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
        .limit(limit)
    )
    return list(await connection.execute(query))


async def record_attempt(
    connection: AsyncConnection, delivery: Row[Any], values: dict[str, Any], outcome: dict[str, Any]
) -> None:
    """Log one attempt and move its delivery on (`outcome`: state, attempts, next_attempt_at...)."""
    await connection.execute(
        insert(webhook_attempts).values(delivery_id=delivery.id, webhook_id=delivery.webhook_id, **values)
    )
    await connection.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery.id).values(**outcome))


async def failures_since(connection: AsyncConnection, webhook_id: str, since: datetime) -> list[datetime]:
    query = select(webhook_attempts.c.at).where(
        webhook_attempts.c.webhook_id == webhook_id,
        webhook_attempts.c.succeeded.is_(False),
        webhook_attempts.c.at >= since,
    )
    return list((await connection.scalars(query)).all())


async def deliveries_of(
    connection: AsyncConnection, webhook_id: str, *, before_id: str | None, limit: int
) -> list[Row[Any]]:
    """A webhook's deliveries, newest first, with the notification each carried."""
    query = (
        select(webhook_deliveries, notifications.c.id.label("notification_id"), notifications.c.type)
        .join(notifications, _carried)
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(webhook_deliveries.c.id < before_id)
    return list(await connection.execute(query))


async def attempts_of(connection: AsyncConnection, delivery_ids: list[str]) -> list[Row[Any]]:
    query = (
        select(webhook_attempts)
        .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
        .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.number)
    )
    return list(await connection.execute(query))


async def delivery_counts(connection: AsyncConnection, webhook_id: str) -> dict[str, int]:
    query = (
        select(webhook_deliveries.c.state, func.count())
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .group_by(webhook_deliveries.c.state)
    )
    return {state: int(count) for state, count in (await connection.execute(query)).all()}


async def reschedule_pending(connection: AsyncConnection, webhook_id: str, now: datetime) -> None:
    """Make the webhook's pending deliveries due now (after it is enabled again)."""
    await connection.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.state == PENDING)
        .values(next_attempt_at=now)
    )


async def abandon_pending(connection: AsyncConnection, webhook_id: str, reason: str) -> None:
    await connection.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.state == PENDING)
        .values(state=ABANDONED, last_error=reason)
    )
