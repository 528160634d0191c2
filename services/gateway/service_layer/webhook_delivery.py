"""Delivering queued notifications to webhooks: signed, retried with exponential backoff, every attempt logged,
a webhook that keeps failing disabled. Every attempt checks the target against the target policy in force and
connects only to an address of the host that the policy allows. One gateway instance delivers at a time (a
lease), so two instances never post the same delivery."""

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any, Protocol

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contract.clock import Clock
from services.contract.lease import Lease, LeasedLoop
from services.gateway.adapters import notification_store
from services.gateway.adapters.notification_store import ABANDONED, DELIVERED, PENDING
from services.gateway.adapters.webhook_http import DeliveryFailed
from services.gateway.domain.notifications import (
    IpAddress,
    TargetPolicy,
    TargetRefused,
    retry_delay,
    should_disable,
    signature,
)
from services.gateway.service_layer import audit

log = logging.getLogger(__name__)


class Sender(Protocol):
    async def resolve(self, url: str) -> list[IpAddress]:
        """The addresses the host of `url` has now; DeliveryFailed when they cannot be told."""
        ...

    async def __call__(self, url: str, body: bytes, headers: dict[str, str], addresses: Sequence[IpAddress]) -> int:
        """POST `body` with `headers` for `url`, connecting only to one of `addresses`: the status code;
        DeliveryFailed when no answer came."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    retry_base: timedelta
    retry_max: timedelta
    max_attempts: int
    disable_after_failures: int
    failure_window: timedelta


def webhook_body(delivery: Row[Any]) -> bytes:
    """What a webhook receives: the notification a delivery carries, as the feed holds it."""
    return json.dumps(
        {
            "id": delivery.notification_id,
            "type": delivery.type,
            "sequence": delivery.sequence,
            "created_at": delivery.notified_at.isoformat(),
            "data": delivery.data,
        },
        separators=(",", ":"),
    ).encode()


class WebhookDispatcher:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        lease: Lease,
        sender: Sender,
        targets: TargetPolicy,
        policy: DeliveryPolicy,
        clock: Clock,
        poll_seconds: float,
        batch_size: int = 100,
    ) -> None:
        self._engine = engine
        self._send = sender
        self.targets = targets
        """Where webhooks may point, checked before every attempt: a target it no longer allows is not called."""
        self._policy = policy
        self._clock = clock
        self._batch_size = batch_size
        self._loop = LeasedLoop(lease=lease, what="webhook delivery", poll_seconds=poll_seconds, work=self.deliver_due)

    def stop(self) -> None:
        self._loop.stop()

    def wake(self) -> None:
        """Look for due deliveries now (a webhook was enabled again)."""
        self._loop.wake()

    async def run(self) -> None:
        try:
            await self._loop.run()
        finally:
            await self._send.close()

    async def deliver_due(self) -> int:
        """Attempt every delivery that is due: webhooks side by side, each one's deliveries in order."""
        async with self._engine.connect() as connection:
            due = await notification_store.due_deliveries(connection, self._clock(), self._batch_size)
        by_webhook = [list(rows) for _, rows in groupby(sorted(due, key=_webhook_then_order), key=_webhook)]
        attempted = await asyncio.gather(*(self._deliver_in_order(rows) for rows in by_webhook))
        return sum(attempted)

    async def _deliver_in_order(self, deliveries: list[Row[Any]]) -> int:
        for count, delivery in enumerate(deliveries, start=1):
            if not await self._attempt(delivery):
                return count  # failed: the rest wait for the next round (or the webhook is now disabled)
        return len(deliveries)

    async def _attempt(self, delivery: Row[Any]) -> bool:
        body = webhook_body(delivery)
        timestamp = int(self._clock().timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "single-window-gateway",
            "webhook-id": delivery.notification_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(delivery.secret, delivery.notification_id, timestamp, body),
        }
        started = time.perf_counter()
        status_code: int | None = None
        try:
            status_code = await self._post(delivery.url, body, headers)
            error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
        except TargetRefused as exc:
            error = f"refused by the webhook target policy: {exc}"
        except DeliveryFailed as exc:
            error = str(exc)
        duration_ms = round((time.perf_counter() - started) * 1000)
        await self._record(delivery, status_code, error, duration_ms)
        return error is None

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST to `url` if the policy allows it now, at an address of its host that the policy allows: the
        address checked is the one connected to, so a DNS answer that changes in between cannot swap it."""
        host = self.targets.check(url)
        addresses = self.targets.addresses_to_call(host, await self._send.resolve(url))
        return await self._send(url, body, headers, addresses)

    async def _record(self, delivery: Row[Any], status_code: int | None, error: str | None, duration_ms: int) -> None:
        now = self._clock()
        number = delivery.attempts + 1
        if error is None:
            outcome: dict[str, Any] = {"state": DELIVERED, "attempts": number, "delivered_at": now, "last_error": None}
        else:
            policy = self._policy
            gave_up = number >= policy.max_attempts
            wait = retry_delay(number, base=policy.retry_base, cap=policy.retry_max)
            outcome = {
                "state": ABANDONED if gave_up else PENDING,
                "attempts": number,
                "next_attempt_at": now + wait,
                "last_error": error,
            }
            log.warning(
                "webhook %s: delivery %s attempt %d failed (%s); %s",
                delivery.webhook_id,
                delivery.id,
                number,
                error,
                "abandoned" if gave_up else f"next in {wait.total_seconds():.0f} s",
            )
        attempt = {
            "number": number,
            "at": now,
            "succeeded": error is None,
            "status_code": status_code,
            "error": error,
            "duration_ms": duration_ms,
        }
        async with self._engine.begin() as connection:
            await notification_store.record_attempt(connection, delivery, attempt, outcome)
            if error is not None:
                await self._disable_if_failing(connection, delivery.webhook_id, error, now)

    async def _disable_if_failing(
        self, connection: AsyncConnection, webhook_id: str, error: str, now: datetime
    ) -> None:
        policy = self._policy
        failures = await notification_store.failures_since(connection, webhook_id, now - policy.failure_window)
        if should_disable(failures, now, limit=policy.disable_after_failures, window=policy.failure_window):
            reason = (
                f"{len(failures)} delivery attempts failed within {policy.failure_window.total_seconds():.0f} s;"
                f" the last: {error}"
            )
            await notification_store.update_webhook(connection, webhook_id, disabled_at=now, disabled_reason=reason)
            facts = {"reason": reason}
            await audit.on_change(connection, action="WebhookDisabled", subject=webhook_id, facts=facts, at=now)
            log.warning("webhook %s disabled: %s", webhook_id, reason)


def _webhook(row: Row[Any]) -> str:
    return str(row.webhook_id)


def _webhook_then_order(row: Row[Any]) -> tuple[str, str, int]:
    return (row.webhook_id, row.recipient, row.sequence)
