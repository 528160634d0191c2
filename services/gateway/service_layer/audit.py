"""The audit trail: every event the gateway publishes, every agency decision it takes in and every change to
webhooks and API keys is recorded with who caused it, in the same transaction; a sealer chains the records by
hash and anchors the head on Kafka."""

import hashlib
import json
import logging
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from ulid import ULID

from services.contract.clock import Clock
from services.contract.cloudevents import Envelope
from services.contract.events import AuditAnchored
from services.contract.lease import Lease, LeasedLoop
from services.contract.logs import correlation_id
from services.contract.outbox import Transactions
from services.gateway.adapters import audit_store
from services.gateway.domain.audit import AuditRecord, seal

log = logging.getLogger(__name__)
acting: ContextVar[str | None] = ContextVar("acting", default=None)
"""Who the current request acts for (`role:subject`), set once its API key passed a gate."""
SYSTEM = "gateway"
"""The actor of what the gateway does on its own: the single-window decision it joins."""


def record_of(envelope: Envelope, actor: str) -> AuditRecord:
    return AuditRecord(
        recorded_at=envelope.time,
        actor=actor,
        action=type(envelope.data).__name__,
        subject=envelope.data.subject(),
        event_id=envelope.id,
        correlation_id=envelope.correlation_id,
        digest=hashlib.sha256(envelope.value()).hexdigest(),
    )


async def on_publish(connection: AsyncConnection, *envelopes: Envelope) -> None:
    """The hook every gateway transaction calls with the events it publishes (anchors excepted): their records in
    one statement."""
    actor = acting.get() or SYSTEM
    records = [record_of(envelope, actor) for envelope in envelopes if not isinstance(envelope.data, AuditAnchored)]
    await audit_store.append(connection, *records)


async def on_consumed(connection: AsyncConnection, *envelopes: Envelope) -> None:
    """Agencies' decisions taken in: the actor of each is the agency's service that published it."""
    await audit_store.append(connection, *(record_of(envelope, f"service:{envelope.source}") for envelope in envelopes))


async def on_change(
    connection: AsyncConnection,
    *,
    action: str,
    subject: str,
    facts: dict[str, Any],
    at: datetime,
    actor: str | None = None,
) -> None:
    """A change that publishes no event (a webhook registered, an API key revoked...), in the caller's transaction.

    `facts` say what changed and never hold a secret; the record keeps their SHA-256, as it does an event's.
    """
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str).encode()
    record = AuditRecord(
        recorded_at=at,
        actor=actor or acting.get() or SYSTEM,
        action=action,
        subject=subject,
        event_id=str(ULID()),
        correlation_id=correlation_id.get() or "",
        digest=hashlib.sha256(canonical).hexdigest(),
    )
    await audit_store.append(connection, record)


class AuditSealer:
    """Chains unsealed records in id order after the head and publishes the new head (one instance at a time)."""

    def __init__(
        self, *, engine: AsyncEngine, transactions: Transactions, lease: Lease, clock: Clock, poll_seconds: float
    ) -> None:
        self._engine = engine
        self._transactions = transactions
        self._clock = clock
        self._loop = LeasedLoop(lease=lease, what="audit sealer", poll_seconds=poll_seconds, work=self.seal_round)

    def stop(self) -> None:
        self._loop.stop()

    async def run(self) -> None:
        await self._loop.run()

    async def seal_round(self, batch: int = 1000) -> int:
        """Seal what is waiting; the number of records sealed."""
        async with self._transactions.begin() as transaction:
            connection = transaction.connection
            waiting = await audit_store.unsealed(connection, batch)
            if not waiting:
                return 0
            sealed = seal(await audit_store.head(connection), [record for _, record in waiting])
            ids = [record_id for record_id, _ in waiting]
            await audit_store.mark_sealed(connection, list(zip(ids, sealed, strict=True)))
            head = sealed[-1]
            anchor = AuditAnchored(position=head.position, hash=head.hash, sealed=len(sealed), sealed_at=self._clock())
            await transaction.publish(Envelope(data=anchor, source=SYSTEM, correlation_id=f"audit-{head.position}"))
        log.info("audit trail sealed up to record %d (%d new)", head.position, len(sealed))
        return len(sealed)
