"""Webhooks that traders and carriers register for their own notifications: created with a secret shown once,
listed with their health, enabled again after a fix, deleted."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from services.gateway.adapters import notification_store
from services.gateway.domain.callers import Caller
from services.gateway.domain.errors import Conflict, NotFound, Unprocessable
from services.gateway.domain.notifications import TargetPolicy, new_secret
from services.gateway.service_layer import audit
from services.gateway.service_layer.notifications import recipient_of


@dataclass(frozen=True)
class Registration:
    url: str
    description: str | None


async def register(
    connection: AsyncConnection,
    caller: Caller,
    registration: Registration,
    *,
    policy: TargetPolicy,
    limit: int,
    now: datetime,
) -> Row[Any]:
    owner = recipient_of(caller)
    _refuse_unless_allowed(registration.url, policy)
    if len(await notification_store.webhooks_of(connection, owner)) >= limit:
        raise Conflict(f"this key already has {limit} webhooks, the most allowed: delete one first")
    webhook_id = str(ULID())
    await notification_store.insert_webhook(
        connection,
        {
            "id": webhook_id,
            "owner": owner,
            "url": registration.url,
            "secret": new_secret(),
            "description": registration.description,
            "created_at": now,
        },
    )
    facts = {"owner": owner, "url": registration.url, "description": registration.description}
    await audit.on_change(connection, action="WebhookRegistered", subject=webhook_id, facts=facts, at=now)
    return await get(connection, caller, webhook_id)


async def owned(connection: AsyncConnection, caller: Caller) -> list[Row[Any]]:
    return await notification_store.webhooks_of(connection, recipient_of(caller))


async def get(connection: AsyncConnection, caller: Caller, webhook_id: str) -> Row[Any]:
    row = await notification_store.webhook(connection, webhook_id)
    if row is None or row.owner != recipient_of(caller):
        raise NotFound(f"no webhook {webhook_id} for this API key")
    return row


async def enable(
    connection: AsyncConnection, caller: Caller, webhook_id: str, *, policy: TargetPolicy, now: datetime
) -> Row[Any]:
    """Enable a disabled webhook again; its deliveries that waited are due at once. Its URL must still be a target
    the policy allows, as at registration."""
    row = await get(connection, caller, webhook_id)
    _refuse_unless_allowed(row.url, policy)
    await notification_store.update_webhook(connection, webhook_id, disabled_at=None, disabled_reason=None)
    await notification_store.reschedule_pending(connection, webhook_id, now)
    facts = {"url": row.url, "disabled_reason": row.disabled_reason}
    await audit.on_change(connection, action="WebhookEnabled", subject=webhook_id, facts=facts, at=now)
    return await get(connection, caller, webhook_id)


async def delete(connection: AsyncConnection, caller: Caller, webhook_id: str, now: datetime) -> None:
    """Stop delivering to the webhook; its delivery log stays readable to operators, the feed keeps every notice."""
    row = await get(connection, caller, webhook_id)
    await notification_store.update_webhook(connection, webhook_id, deleted_at=now)
    await notification_store.abandon_pending(connection, webhook_id, "webhook deleted")
    await audit.on_change(connection, action="WebhookDeleted", subject=webhook_id, facts={"url": row.url}, at=now)


def _refuse_unless_allowed(url: str, policy: TargetPolicy) -> None:
    problem = policy.problem(url)
    if problem is not None:
        raise Unprocessable(problem, field="url")


@dataclass(frozen=True)
class DeliveryLog:
    deliveries: list[Row[Any]]
    attempts: dict[str, list[Row[Any]]]
    next_cursor: str | None


async def deliveries(
    connection: AsyncConnection, caller: Caller, webhook_id: str, *, cursor: str | None, limit: int
) -> DeliveryLog:
    await get(connection, caller, webhook_id)
    rows = await notification_store.deliveries_of(connection, webhook_id, before_id=cursor, limit=limit + 1)
    page = rows[:limit]
    attempts: dict[str, list[Row[Any]]] = {row.id: [] for row in page}
    for attempt in await notification_store.attempts_of(connection, list(attempts)):
        attempts[attempt.delivery_id].append(attempt)
    return DeliveryLog(page, attempts, page[-1].id if len(rows) > limit else None)
