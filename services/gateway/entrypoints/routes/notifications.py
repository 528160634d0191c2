"""/v1/notifications (a key's feed, and the same as server-sent events) and /v1/webhooks (pushed, signed)."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.database import reading
from services.contract.outbox import Transaction
from services.gateway.adapters import notification_store
from services.gateway.domain.callers import Caller, Role
from services.gateway.entrypoints.deps import GatewayDep, allow
from services.gateway.entrypoints.idempotent import Answer, IdempotencyKey, answer_once
from services.gateway.entrypoints.notification_schemas import (
    WEBHOOK_EXAMPLE,
    AttemptRead,
    DeliveryPage,
    DeliveryRead,
    NotificationPage,
    NotificationRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from services.gateway.entrypoints.routes.declarations import PROBLEMS
from services.gateway.entrypoints.schemas import ULID_PATTERN
from services.gateway.service_layer import notifications, webhooks

router = APIRouter(tags=["notifications"])
Listener = Annotated[Caller, Depends(allow(Role.TRADER, Role.CARRIER))]
WEBHOOK_ID = Annotated[str, Path(pattern=ULID_PATTERN, description="The id POST /v1/webhooks answered")]
PAGE = 100
LAST_SEQUENCE = 10**18 - 1
"""The largest sequence a client can name (18 digits, as in Last-Event-ID): it fits the database's 64-bit integers."""


@router.get("/v1/notifications", response_model=NotificationPage, responses=PROBLEMS, summary="Read your feed")
async def read_feed(
    context: GatewayDep,
    who: Listener,
    after: Annotated[
        int, Query(ge=0, le=LAST_SEQUENCE, description="Only notices after this sequence (0: from the first)")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE,
) -> NotificationPage:
    """Your notices in order: every change of a declaration's clearance where you are declarant or importer
    (traders), and the release of goods you presented (carriers). Poll with `after` = the last sequence seen,
    or use the stream."""
    recipient = notifications.recipient_of(who)
    async with reading(context.runtime.engine) as connection:
        rows = await notification_store.feed(connection, recipient, after=after, limit=limit)
        last = await notification_store.last_sequence(connection, recipient)
    return NotificationPage(items=[NotificationRead.of(row) for row in rows], last_sequence=last)


@router.get(
    "/v1/notifications/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}, **PROBLEMS},
    summary="Follow your feed as server-sent events",
)
async def stream_feed(
    context: GatewayDep,
    request: Request,
    who: Listener,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", pattern=r"^\d{1,18}$", description="Resume after this event")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=LAST_SEQUENCE, description="Start after this sequence (0: the whole feed)")
    ] = None,
) -> StreamingResponse:
    """Server-sent events (`text/event-stream`): one event per notice, `id` its sequence, `event` its type,
    `data` the notice as JSON. Without `Last-Event-ID` or `after`, the stream starts with the next notice.
    Any gateway instance serves any key's stream: notices are read from the database."""
    recipient = notifications.recipient_of(who)
    engine = context.runtime.engine
    if last_event_id is not None:
        cursor = int(last_event_id)
    elif after is not None:
        cursor = after
    else:
        async with reading(engine) as connection:
            cursor = await notification_store.last_sequence(connection, recipient)
    poll = context.settings.sse_poll_ms / 1000
    heartbeat = context.settings.sse_heartbeat_seconds

    async def events(cursor: int) -> AsyncIterator[str]:
        yield f"retry: {max(1000, context.settings.sse_poll_ms * 4)}\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            async with reading(engine) as connection:  # reads only: no SQLite write lock per poll
                rows = await notification_store.feed(connection, recipient, after=cursor, limit=PAGE)
            for row in rows:
                yield server_sent_event(NotificationRead.of(row))
                cursor = row.sequence
            if len(rows) == PAGE:
                continue
            quiet = 0.0 if rows else quiet + poll
            if quiet >= heartbeat:
                yield ": keep-alive\n\n"
                quiet = 0.0
            await asyncio.sleep(poll)

    return StreamingResponse(
        events(cursor), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def server_sent_event(notice: NotificationRead) -> str:
    return f"id: {notice.sequence}\nevent: {notice.type}\ndata: {json.dumps(notice.model_dump(mode='json'))}\n\n"


@router.post(
    "/v1/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=PROBLEMS,
    summary="Register a webhook",
)
async def register_webhook(
    context: GatewayDep,
    request: Request,
    who: Listener,
    body: Annotated[WebhookCreate, Body(openapi_examples={"erp": {"value": WEBHOOK_EXAMPLE}})],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Your notices will also be POSTed to `url`, signed as Standard Webhooks do (headers `webhook-id`,
    `webhook-timestamp`, `webhook-signature`) with the `secret` in this answer, shown this once. A failed
    delivery is retried with exponential backoff; a webhook that keeps failing is disabled, and says why."""
    now = context.clock()
    settings = context.settings

    async def create(transaction: Transaction) -> Answer:
        row = await webhooks.register(
            transaction.connection,
            who,
            webhooks.Registration(url=body.url, description=body.description),
            policy=context.webhook_targets,
            limit=settings.webhooks_per_key,
            now=now,
        )
        view = WebhookCreated(**(await _webhook(transaction.connection, row)).model_dump(), secret=row.secret)
        return 201, view, f"/v1/webhooks/{row.id}"

    return await answer_once(context, request, caller=who, key=idempotency_key, body=body, now=now, answer=create)


@router.get("/v1/webhooks", response_model=list[WebhookRead], responses=PROBLEMS, summary="List your webhooks")
async def list_webhooks(context: GatewayDep, who: Listener) -> list[WebhookRead]:
    async with reading(context.runtime.engine) as connection:
        return [await _webhook(connection, row) for row in await webhooks.owned(connection, who)]


@router.get("/v1/webhooks/{webhook_id}", response_model=WebhookRead, responses=PROBLEMS, summary="Get a webhook")
async def get_webhook(context: GatewayDep, who: Listener, webhook_id: WEBHOOK_ID) -> WebhookRead:
    """The webhook, whether it is active or disabled (and why), and how many deliveries are in each state."""
    async with reading(context.runtime.engine) as connection:
        return await _webhook(connection, await webhooks.get(connection, who, webhook_id))


@router.post(
    "/v1/webhooks/{webhook_id}/enable", response_model=WebhookRead, responses=PROBLEMS, summary="Enable a webhook"
)
async def enable_webhook(context: GatewayDep, who: Listener, webhook_id: WEBHOOK_ID) -> WebhookRead:
    """After fixing the receiver: enable a disabled webhook again. Deliveries that waited are sent at once.
    Enabling an active webhook changes nothing, so this needs no Idempotency-Key. A webhook whose `url` the
    allow-list no longer allows is not enabled (422, as at registration)."""
    async with context.runtime.engine.begin() as connection:
        row = await webhooks.enable(connection, who, webhook_id, policy=context.webhook_targets, now=context.clock())
        view = await _webhook(connection, row)
    context.webhook_dispatcher.wake()
    return view


@router.delete(
    "/v1/webhooks/{webhook_id}", status_code=204, response_class=Response, responses=PROBLEMS, summary="Delete"
)
async def delete_webhook(context: GatewayDep, who: Listener, webhook_id: WEBHOOK_ID) -> Response:
    async with context.runtime.engine.begin() as connection:
        await webhooks.delete(connection, who, webhook_id, context.clock())
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=PROBLEMS,
    summary="A webhook's delivery log",
)
async def webhook_deliveries(
    context: GatewayDep,
    who: Listener,
    webhook_id: WEBHOOK_ID,
    cursor: Annotated[str | None, Query(pattern=ULID_PATTERN, description="From next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Every delivery, newest first, with each attempt: when, the status code or error, how long it took."""
    async with reading(context.runtime.engine) as connection:
        log = await webhooks.deliveries(connection, who, webhook_id, cursor=cursor, limit=limit)
    return DeliveryPage(
        items=[_delivery(row, log.attempts[row.id]) for row in log.deliveries], next_cursor=log.next_cursor
    )


async def _webhook(connection: AsyncConnection, row: Row[Any]) -> WebhookRead:
    return WebhookRead.of(row, await notification_store.delivery_counts(connection, row.id))


def _delivery(row: Row[Any], attempts: list[Row[Any]]) -> DeliveryRead:
    return DeliveryRead(
        id=row.id,
        notification_id=row.notification_id,
        type=row.type,
        sequence=row.sequence,
        state=row.state,
        next_attempt_at=row.next_attempt_at if row.state == notification_store.PENDING else None,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        attempts=[
            AttemptRead(
                number=a.number,
                at=a.at,
                succeeded=a.succeeded,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
    )
