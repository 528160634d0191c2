"""Transactional outbox: events are written with the data that caused them, and a relay publishes them."""

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from aiokafka.errors import KafkaConnectionError, KafkaError
from sqlalchemy import Insert, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contract.cloudevents import Envelope
from services.contract.database import reading, writing
from services.contract.doorbell import BELL_ERRORS, Doorbell
from services.contract.events import Topic
from services.contract.kafka import KafkaLink
from services.contract.lease import Lease
from services.contract.metrics import DEAD_LETTERS, EVENTS_PUBLISHED, OUTBOX_BACKLOG
from services.contract.settings import ServiceSettings
from services.contract.tracing import Tracing

log = logging.getLogger(__name__)


class PublishHook(Protocol):
    """Called with the events a transaction publishes, those of each `publish` at once and in order, inside that
    transaction (the gateway's audit trail)."""

    def __call__(self, connection: AsyncConnection, *envelopes: Envelope) -> Awaitable[None]: ...


class Transaction:
    """One database transaction: the data a service writes and the events it publishes commit together."""

    def __init__(
        self,
        connection: AsyncConnection,
        outbox: Table,
        settings: ServiceSettings,
        hooks: Sequence[PublishHook] = (),
        *,
        tracing: Tracing,
    ) -> None:
        self.connection = connection
        self._outbox = outbox
        self._settings = settings
        self._hooks = hooks
        self._tracing = tracing
        self.published = 0
        self.committed_callbacks: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed (never if it rolls back): for metrics."""
        self.committed_callbacks.append(callback)

    async def publish(self, *envelopes: Envelope) -> None:
        """Queue events in the outbox, in order, in one statement; the relay sends each to its topic once the
        transaction commits.

        Published while a span is current (tracing on), the events carry that trace on in their headers.
        """
        rows, now = [], datetime.now(UTC)
        for envelope in envelopes:
            topic = self._settings.topic(envelope.data.topic)
            rows.append(_outbox_row(envelope, topic, now, self._tracing.event_headers(envelope, topic)))
        if rows:
            await self.connection.execute(_insert_into(self._outbox), rows)
        if envelopes:
            for hook in self._hooks:
                await hook(self.connection, *envelopes)
        self.published += len(rows)

    async def dead_letter(
        self,
        *,
        record_id: str,
        topic: Topic,
        key: bytes,
        value: bytes,
        reason: str,
        headers: Sequence[tuple[str, str]] = (),
    ) -> bool:
        """Keep something received that can never become an event of `topic` (a document that does not parse) as
        a dead letter: the relay sends it to the topic's `.dlq` once this transaction commits, with `headers` and
        the dlq_reason, dlq_original_topic and dlq_failed_at every dead letter has; the outbox row stays.
        False when `record_id` was kept before (nothing changes then)."""
        table, original = self._outbox, self._settings.topic(topic)
        if await self.connection.scalar(select(table.c.id).where(table.c.event_id == record_id)) is not None:
            return False
        standard = [("dlq_reason", reason), ("dlq_original_topic", original), ("dlq_failed_at", _now().isoformat())]
        await self.connection.execute(
            insert(table).values(
                event_id=record_id,
                topic=self._settings.dead_letter_topic(original),
                key=key,
                headers=orjson.dumps([*headers, *standard]).decode(),
                value=value,
                created_at=_now(),
            )
        )
        self.published += 1
        self.after_commit(lambda: DEAD_LETTERS.labels(original).inc())
        return True


def _now() -> datetime:
    return datetime.now(UTC)


class BatchRolledBack(Exception):
    """Something failed inside a batch (see `Transactions.batch`): none of its transactions committed."""


class _Batch:
    """The one connection a batch's transactions share, and what they leave to do once it commits."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.published = 0
        self.committed_callbacks: list[Callable[[], None]] = []
        self.failure: BaseException | None = None


in_batch: ContextVar[_Batch | None] = ContextVar("outbox_batch", default=None)
"""The batch the current task's transactions join (`Transactions.batch`), if any."""


class Transactions:
    """Begins transactions, and wakes the relay after a commit that published something."""

    def __init__(
        self, engine: AsyncEngine, outbox: Table, settings: ServiceSettings, relay: "OutboxRelay", *, tracing: Tracing
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._settings = settings
        self._relay = relay
        self._tracing = tracing
        self._hooks: list[PublishHook] = []

    @property
    def one_writer(self) -> bool:
        """Whether the database takes one write transaction at a time (SQLite), where PostgreSQL runs them side by
        side, each on a connection of its own."""
        return self._engine.dialect.name == "sqlite"

    def on_publish(self, hook: PublishHook) -> None:
        """Call `hook` with the events published from now on, in the publishing transaction."""
        self._hooks.append(hook)

    @asynccontextmanager
    async def begin(self, *, ahead: bool = False) -> AsyncIterator[Transaction]:
        """A transaction; inside a batch (`batch`), part of it. On SQLite one `ahead` (a consumer's) goes before the
        service's other writers waiting (`database.WriterQueue`)."""
        batch = in_batch.get()
        if batch is not None:
            async with self._within(batch) as transaction:
                yield transaction
            return
        async with writing(self._engine, ahead=ahead) as connection:
            transaction = Transaction(connection, self._outbox, self._settings, self._hooks, tracing=self._tracing)
            yield transaction
        self._committed(transaction.published, transaction.committed_callbacks)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Make the transactions this task begins inside the block one: they commit together when it ends, which
        saves a commit (and on SQLite the write lock) per transaction; on SQLite a batch goes ahead of the
        service's other writers waiting (`database.WriterQueue`). A failure in any of them, even one its caller
        caught, rolls them all back and raises BatchRolledBack: the caller does the work again one transaction at a
        time. Other tasks' transactions are not part of it."""
        if in_batch.get() is not None:
            raise RuntimeError("a batch is already open in this task")
        async with writing(self._engine, ahead=True) as connection:
            batch = _Batch(connection)
            token = in_batch.set(batch)
            try:
                yield
            finally:
                in_batch.reset(token)
            if batch.failure is not None:
                raise BatchRolledBack(f"{type(batch.failure).__name__}: {batch.failure}") from batch.failure
        self._committed(batch.published, batch.committed_callbacks)

    @asynccontextmanager
    async def _within(self, batch: _Batch) -> AsyncIterator[Transaction]:
        if batch.failure is not None:
            raise BatchRolledBack("an earlier transaction of the batch failed")
        transaction = Transaction(batch.connection, self._outbox, self._settings, self._hooks, tracing=self._tracing)
        try:
            yield transaction
        except BaseException as exc:
            batch.failure = exc
            raise
        batch.published += transaction.published
        batch.committed_callbacks.extend(transaction.committed_callbacks)

    def _committed(self, published: int, callbacks: list[Callable[[], None]]) -> None:
        if published:
            self._relay.notify()
        for callback in callbacks:
            callback()


@functools.cache
def _insert_into(table: Table) -> Insert:
    """The INSERT of a row into `table`, built once: the values come with each execution."""
    return insert(table)


def _outbox_row(
    envelope: Envelope, topic: str, now: datetime, extra_headers: Sequence[tuple[str, bytes]] = ()
) -> dict[str, Any]:
    """An event's outbox row: the relay publishes it to `topic` with its headers as stored."""
    headers = [*envelope.attributes(), *((name, value.decode()) for name, value in extra_headers)]
    return {
        "event_id": envelope.id,
        "topic": topic,
        "key": envelope.key(),
        "headers": orjson.dumps(headers).decode(),
        "value": envelope.value(),
        "created_at": now,
    }


class OutboxRelay:
    """Publishes committed outbox rows in id order with the idempotent producer, then marks them sent."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        outbox: Table,
        lease: Lease,
        link: KafkaLink,
        batch_size: int,
        poll_ms: int,
        tracing: Tracing,
        doorbell: Doorbell | None = None,
    ) -> None:
        self._engine = engine
        self._tracing = tracing
        self._doorbell = doorbell
        self._bell_failing = False
        self._leading = False
        self._outbox = outbox
        self._lease = lease
        self.published = 0
        self._link = link
        self._batch_size = batch_size
        self._poll_seconds = poll_ms / 1000
        self._wake = asyncio.Event()
        self._stopping = False
        # Built once (the values come with each execution): the relay runs them for every batch.
        unsent = select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.headers, outbox.c.value)
        self._unsent = unsent.where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(bindparam("batch_size"))
        self._mark_sent = (
            update(outbox)
            .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
            .values(sent_at=bindparam("sent_at", type_=outbox.c.sent_at.type))
        )
        self.last_backlog = 0
        self._measured_at = float("-inf")
        self._unmarked: dict[int, None] = {}
        """Ids of rows on Kafka, in the order sent, not yet marked sent: the next batches leave them out."""
        self._marking: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """Finish the batch in hand, then return from run()."""
        self._stopping = True
        self._wake.set()

    def notify(self) -> None:
        """Wake the relay: something was just committed to the outbox. While another instance publishes, ring its
        relay too (`doorbell`)."""
        self._wake.set()
        if not self._leading and self._doorbell is not None:
            self._doorbell.ring()

    async def backlog(self) -> int:
        async with reading(self._engine) as connection:
            count = await connection.scalar(
                select(func.count()).select_from(self._outbox).where(self._outbox.c.sent_at.is_(None))
            )
        self.last_backlog = count or 0
        self._measured_at = asyncio.get_running_loop().time()
        OUTBOX_BACKLOG.set(self.last_backlog)
        return self.last_backlog

    async def recent_backlog(self, max_age: float = 1.0) -> int:
        """The backlog, counted again only when the last count is older than `max_age` seconds."""
        if asyncio.get_running_loop().time() - self._measured_at > max_age:
            await self.backlog()
        return self.last_backlog

    async def run(self) -> None:
        backoff = self._poll_seconds
        try:
            await self._link.wait_connected()
            while not self._stopping:
                self._wake.clear()
                try:
                    if self._link.last_error is not None and not await self._link.reachable():
                        raise KafkaConnectionError("no bootstrap server answers")
                    if await self._lease.acquire() != self._leading:
                        self._leading = not self._leading
                        log.info(
                            "outbox relay %s",
                            "publishing" if self._leading else "standing by: another instance publishes",
                        )
                    await self._listen_while_leading()
                    published = await self.publish_batch() if self._leading else 0
                except (KafkaError, DBAPIError, OSError) as exc:
                    if isinstance(exc, KafkaError):
                        self._link.record(exc)
                        await self._link.renew_producer()
                    log.warning("outbox relay could not publish (%s); retrying in %.1f s", exc, backoff)
                    if self._leading and not self._lease.held:  # another instance may have taken it over
                        self._leading = False
                        log.info("outbox relay standing by: its lease ran out while it could not publish")
                        await self._listen_while_leading()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = self._poll_seconds
                if published < self._batch_size:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
        finally:
            try:
                await self._all_marked()
            finally:
                if self._marking is not None:
                    # The relay was cancelled with marks pending: the rows left unmarked are sent again later, and
                    # consumers drop the repeats by event id.
                    self._marking.cancel()
                if self._leading:
                    self._leading = False
                    with suppress(DBAPIError, OSError):
                        await self._lease.release()
                if self._doorbell is not None:
                    with suppress(*BELL_ERRORS):
                        await self._doorbell.close()

    async def _listen_while_leading(self) -> None:
        """While this instance publishes, listen for the other instances' rings (`doorbell`); while another does,
        not (this instance's commits ring that one: `notify`). A bell that cannot listen (a connection refused)
        leaves the other instances' events to the poll until the next round tries again."""
        bell = self._doorbell
        if bell is None or (self._leading and bell.listening):
            return
        try:
            await (bell.listen(self._wake.set) if self._leading else bell.stop_listening())
        except BELL_ERRORS as exc:  # a hint lost, not an event: the poll still finds them
            if not self._bell_failing:
                log.warning("outbox relay: other instances' events wait for its poll (bell: %s)", exc)
            self._bell_failing = True
            return
        if self._leading and self._bell_failing:
            log.info("outbox relay: listening for other instances' commits again")
            self._bell_failing = False

    async def publish_batch(self) -> int:
        """Publish the oldest unsent rows; a failure leaves them unsent, to be published again.

        The rows sent are marked sent in the background, while the next batches go out (they leave those rows
        out): under load the mark waits for the write lock behind every writer of the service, and the relay
        waiting with it fell behind the submissions. At most `MARKS_PENDING` batches wait to be marked."""
        if len(self._unmarked) >= MARKS_PENDING * self._batch_size:
            await self._all_marked()
        self._mark_in_background()
        # The ids to leave out are taken before the read: a mark that commits while the read awaits its rows takes
        # its ids out of _unmarked, though the read's snapshot may still show those rows unsent (it did on
        # PostgreSQL, and they were sent twice).
        left_out = set(self._unmarked)
        async with reading(self._engine) as connection:
            found = await connection.execute(self._unsent, {"batch_size": self._batch_size + len(left_out)})
            rows = [row for row in found if row.id not in left_out][: self._batch_size]
        if not rows:
            if not self._unmarked:
                self.last_backlog = 0
                OUTBOX_BACKLOG.set(0)
            return 0
        messages = [(row, [(name, value.encode()) for name, value in orjson.loads(row.headers)]) for row in rows]
        producer = await self._link.producer()
        with self._tracing.sending((row.topic, headers) for row, headers in messages):
            deliveries = [
                await producer.send(row.topic, value=row.value, key=row.key, headers=headers)
                for row, headers in messages
            ]
            await asyncio.gather(*deliveries)
        self._link.record(None)
        self.published += len(rows)
        for row in rows:
            self._unmarked[row.id] = None
        for topic, count in Counter(row.topic for row in rows).items():
            EVENTS_PUBLISHED.labels(topic).inc(count)
        self._mark_in_background()
        await self.recent_backlog()  # counted at most once a second, not after every batch
        return len(rows)

    def _mark_in_background(self) -> None:
        if self._unmarked and (self._marking is None or self._marking.done()):
            self._marking = asyncio.create_task(self._mark_sent_rows(), name="outbox-marks")

    async def _mark_sent_rows(self) -> None:
        """Mark what was sent, in one statement for all of it, until nothing is left (a mark for each batch sent
        meanwhile, at most); a failure is retried with backoff (the rows stay left out meanwhile, so they are not
        sent again)."""
        backoff = self._poll_seconds
        while self._unmarked:
            ids = list(self._unmarked)
            try:
                async with writing(self._engine, ahead=True) as connection:
                    await connection.execute(self._mark_sent, {"ids": ids, "sent_at": datetime.now(UTC)})
            except (DBAPIError, OSError) as exc:
                log.warning(
                    "outbox relay could not mark %d events sent (%s); retrying in %.1f s", len(ids), exc, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for row_id in ids:
                del self._unmarked[row_id]
            backoff = self._poll_seconds

    async def _all_marked(self) -> None:
        """Wait until everything sent is marked sent (retrying while the database refuses)."""
        while True:
            if self._marking is not None and not self._marking.done():
                await asyncio.shield(self._marking)
            elif self._unmarked:
                self._mark_in_background()
            else:
                return


MARKS_PENDING = 4
"""Batches sent and not yet marked sent that the relay goes on past; at this many it waits for the marks."""
