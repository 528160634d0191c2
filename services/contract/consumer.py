"""The consume loop every service uses: dedupe by event id, commit after the effect, dead-letter the rest."""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from sqlalchemy import Table

from services.contract.cloudevents import Envelope, UndecodableEvent, decode
from services.contract.database import insert_unless_present, is_unavailable
from services.contract.kafka import KafkaLink, connection
from services.contract.logs import correlated
from services.contract.metrics import DEAD_LETTERS, EVENTS_CONSUMED
from services.contract.outbox import Transaction, Transactions
from services.contract.settings import ServiceSettings
from services.contract.tracing import Tracing

log = logging.getLogger(__name__)


class PermanentEventError(Exception):
    """The event can never be processed as it is (retrying will not help): it goes to dead letters at once."""


Effect = Callable[[Transaction, Envelope], Awaitable[None]]
BulkEffect = Callable[[Transaction, list[Envelope]], Awaitable[None]]


class Inbox:
    """Runs an effect at most once per event id, in one transaction with the events it publishes."""

    def __init__(self, *, transactions: Transactions, inbox: Table) -> None:
        self._transactions = transactions
        self._inbox = inbox

    async def process(self, envelope: Envelope, record: ConsumerRecord, effect: Effect) -> bool:
        """False when the event was processed before (a redelivery): nothing changes then."""
        async with self._transactions.begin(ahead=True) as transaction:
            # Claim the event id first: a redelivery finds it taken; a failing effect rolls the claim back with
            # everything else.
            if not await self.claim(transaction, [(envelope, record)]):
                return False
            await effect(transaction, envelope)
        return True

    async def process_together(
        self, events: Sequence[tuple[Envelope, ConsumerRecord]], effect: BulkEffect
    ) -> list[bool]:
        """Many events at once, in one transaction: each id claimed in one statement, then the effect of those
        claimed now (none when all were redeliveries). For each event, in order, whether it was processed."""
        async with self._transactions.begin(ahead=True) as transaction:
            claimed = await self.claim(transaction, events)
            fresh = [envelope for envelope, _ in events if envelope.id in claimed]
            if fresh:
                await effect(transaction, fresh)
        return [envelope.id in claimed for envelope, _ in events]

    async def claim(self, transaction: Transaction, events: Sequence[tuple[Envelope, ConsumerRecord]]) -> set[str]:
        """Claim the events' ids in one statement, in the caller's transaction: the ids claimed now (the others
        were processed before, or by another instance that got there first)."""
        connection = transaction.connection
        now = datetime.now(UTC)
        rows = [
            {
                "event_id": envelope.id,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "processed_at": now,
            }
            for envelope, record in events
        ]
        claimed = await connection.execute(
            insert_unless_present(connection.dialect.name, self._inbox, returning_all_but=_ALL_BUT_EVENT_ID), rows
        )
        return set(claimed.scalars())


_ALL_BUT_EVENT_ID = frozenset({"topic", "partition", "offset", "processed_at"})


Handler = Callable[[Envelope, ConsumerRecord], Awaitable[bool]]
BatchHandler = Callable[[list[tuple[Envelope, ConsumerRecord]]], Awaitable[list[bool]]]
"""Handles a batch's events together, in the batch's transaction: for each, in order, whether it was processed (as
a Handler answers). A service gives one where deciding many events at once saves statements (customs, phyto)."""


async def in_runs(
    events: list[tuple[Envelope, ConsumerRecord]],
    *,
    run_of: Callable[[Envelope], str | None],
    together: Callable[[list[tuple[Envelope, ConsumerRecord]]], Awaitable[list[bool]]],
    alone: Handler,
) -> list[bool]:
    """A batch handler's plan: consecutive events of one kind of run (`run_of`), about different subjects, go
    `together`; a run ends at an event of another kind, or about a subject already in it. An event of no run
    (None) goes `alone`, in order, so it sees what the runs before it did. For each event, in order, whether it
    was processed."""
    answers: list[bool] = []
    run: list[tuple[Envelope, ConsumerRecord]] = []
    kind: str | None = None
    subjects: set[str] = set()
    for envelope, record in events:
        joining = run_of(envelope)
        if run and (joining != kind or envelope.data.subject() in subjects):
            answers += await together(run)
            run, subjects = [], set()
        kind = joining
        if joining is None:
            with correlated(envelope.correlation_id):
                answers.append(await alone(envelope, record))
        else:
            run.append((envelope, record))
            subjects.add(envelope.data.subject())
    return answers + (await together(run) if run else [])


class _LoggedRebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    """Logs the partitions this instance gives up and takes, so operators see a rebalance happen."""

    def __init__(self, group_id: str) -> None:
        self._group_id = group_id

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if revoked:
            log.info("group %s: partitions revoked: %s", self._group_id, _names(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("group %s: partitions assigned: %s", self._group_id, _names(assigned))


def _partition(record: ConsumerRecord) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


def _names(partitions: set[TopicPartition]) -> str:
    return ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions)) or "none"


class EventConsumer:
    """Joins a group with auto-commit off and commits each partition's offset once its records are done."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        link: KafkaLink,
        topics: list[str],
        group_id: str,
        handler: Handler,
        tracing: Tracing,
        transactions: Transactions | None = None,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        """With `transactions`, the records of a fetch are handled up to consumer_batch_max at a time in one
        database transaction (see `Transactions.batch`), each by `handler`, or all by `batch_handler` when there
        is one and tracing is off (with tracing on each event has its span); without, each record on its own."""
        self._settings = settings
        self._tracing = tracing
        self._transactions = transactions
        self._batch_handler = batch_handler
        self._link = link
        self._topics = topics
        self._group_id = group_id
        self._handler = handler
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Take no new record: the one in hand is finished and its offset committed, then the consumer leaves."""
        self._stopping.set()

    async def run(self) -> None:
        settings = self._settings
        await self._link.wait_connected()  # the topics exist
        consumer = AIOKafkaConsumer(
            **connection(settings),
            group_id=self._group_id,
            client_id=f"{settings.service_name}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A fetch returns when enough bytes have come or the wait is over: under load one batch holds many
            # records (one transaction, one commit); idle, a record waits at most the fetch wait.
            fetch_max_wait_ms=settings.consumer_fetch_wait_ms,
            fetch_min_bytes=settings.consumer_fetch_min_bytes if settings.consumer_fetch_wait_ms else 1,
        )
        consumer.subscribe(self._topics, listener=_LoggedRebalance(self._group_id))
        while True:
            try:
                await consumer.start()
                break
            except KafkaError as exc:
                log.warning("consumer cannot join %s (%s); retrying", self._group_id, exc)
                await asyncio.sleep(settings.startup_retry_seconds)
        log.info("consuming %s as group %s", ", ".join(self._topics), self._group_id)
        try:
            while not self._stopping.is_set():
                batches = await self._fetch_unless_stopping(consumer)
                offsets = await self._process_fetch(consumer, [r for records in batches.values() for r in records])
                if offsets:
                    await self._commit(consumer, offsets)
        finally:
            await consumer.stop()
            log.info("left consumer group %s", self._group_id)

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Commit, in one request, the offsets of a fetch's partitions once their effects are durable. A rebalance
        meanwhile may have given a partition to another instance: the broker then refuses the commit, and the new
        owners read these records again from the last committed offsets, which changes nothing (each effect is
        applied once, by event id)."""
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "group %s: offsets %s not committed after a rebalance (%s); their owners read on from the last "
                "committed offsets",
                self._group_id,
                ", ".join(f"{p.topic}[{p.partition}] {offset}" for p, offset in sorted(offsets.items())),
                exc,
            )

    async def _fetch_unless_stopping(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The next records, or none when a stop comes first (nothing is in hand then: safe to abandon)."""
        fetch = asyncio.ensure_future(consumer.getmany(timeout_ms=500, max_records=200))
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return {}
        batches: dict[TopicPartition, list[ConsumerRecord]] = fetch.result()
        return batches

    def _may_take(self, consumer: AIOKafkaConsumer, record: ConsumerRecord) -> bool:
        """Not stopping, and the record's partition still ours (a rebalance may have given it to another
        instance)."""
        return not self._stopping.is_set() and _partition(record) in consumer.assignment()

    async def _process_fetch(
        self, consumer: AIOKafkaConsumer, records: list[ConsumerRecord]
    ) -> dict[TopicPartition, int]:
        """Handle a fetch's records, each partition's in order, in batches where it can: records of different
        partitions (different keys, so different subjects) share a batch, so that a fetch bringing a record or two
        from each partition pays one transaction, not one a partition. The offset to commit for each partition
        whose records were done."""
        done: dict[TopicPartition, int] = {}
        lost: set[TopicPartition] = set()
        pending = records
        while pending:
            pending = self._still_ours(consumer, pending, lost)
            batching = self._transactions is not None and len(pending) > 1
            taken, committed = await self._process_together(consumer, pending) if batching else (1, False)
            for record in pending[:taken]:
                if not committed:  # each on its own: a single record, or those of a batch that rolled back
                    if not self._still_ours(consumer, [record], lost):
                        continue
                    await self._process(record)
                done[_partition(record)] = record.offset + 1
            pending = pending[taken:]
        return done

    def _still_ours(
        self, consumer: AIOKafkaConsumer, records: list[ConsumerRecord], lost: set[TopicPartition]
    ) -> list[ConsumerRecord]:
        """`records` but those of partitions given away (or all, stopping), noted in `lost`: none of a lost
        partition's records is taken after that in this fetch, even were it given back meanwhile, since one of
        them was left (its next owner reads them in order from the last committed offset)."""
        kept = []
        for record in records:
            partition = _partition(record)
            if partition not in lost and not self._may_take(consumer, record):
                lost.add(partition)
            if partition not in lost:
                kept.append(record)
        return kept

    async def _process_together(self, consumer: AIOKafkaConsumer, records: list[ConsumerRecord]) -> tuple[int, bool]:
        """Handle records from the first on in one transaction, until consumer_batch_max of them are in it or
        consumer_batch_ms have passed (until it commits, a batch holds back its decisions, and on SQLite the write
        lock every other writer of the service waits for). How many it took, and whether they committed: when
        anything failed (an undecodable record, an event refused, a database error), nothing did, and the caller
        handles them one at a time, with their retries and dead letters."""
        assert self._transactions is not None
        clock = asyncio.get_running_loop().time
        deadline = clock() + self._settings.consumer_batch_ms / 1000
        bulk = None if self._tracing.enabled else self._batch_handler  # tracing on: each event in its own span
        done: list[tuple[ConsumerRecord, bool]] = []
        together: list[tuple[Envelope, ConsumerRecord]] = []  # for the batch handler, which takes them at once
        taken = 0
        try:
            async with self._transactions.batch():
                for record in records[: self._settings.consumer_batch_max]:
                    if not self._may_take(consumer, record) or (taken and clock() >= deadline):
                        break
                    taken += 1
                    if bulk is not None:
                        together.append((decode(record.headers, record.value), record))
                        continue
                    with self._tracing.consumer_span(record, self._group_id):
                        envelope = decode(record.headers, record.value)
                        with correlated(envelope.correlation_id):
                            done.append((record, await self._handler(envelope, record)))
                if bulk is not None:
                    answers = await bulk(together)
                    done = [(record, answer) for (_, record), answer in zip(together, answers, strict=True)]
        except Exception as exc:  # noqa: BLE001 - the one-at-a-time pass sorts out whatever it was
            log.info(
                "batch of %d records from %s rolled back (%s: %s); handling them one at a time",
                taken,
                _names({_partition(record) for record in records[:taken]}),
                type(exc).__name__,
                exc,
            )
            return taken, False
        self._count(done)
        return taken, True

    async def _process(self, record: ConsumerRecord) -> None:
        """One record, inside a span that continues the trace its headers carry (when tracing is on)."""
        with self._tracing.consumer_span(record, self._group_id):
            try:
                envelope = decode(record.headers, record.value)
            except UndecodableEvent as exc:
                await self._dead_letter(record, str(exc))
                return
            with correlated(envelope.correlation_id):
                await self._handle_with_retries(envelope, record)

    async def _handle_with_retries(self, envelope: Envelope, record: ConsumerRecord) -> None:
        """Retry a failing event a bounded number of times, then dead-letter it.

        An unavailable database is not the event's fault: the consumer waits for it, however long, and the
        event keeps its place (nothing behind it on the partition is processed meanwhile).
        """
        attempts = self._settings.consumer_max_retries + 1
        attempt = 1
        while True:
            try:
                processed = await self._handler(envelope, record)
            except PermanentEventError as exc:
                await self._dead_letter(record, f"{envelope.type} {envelope.id}: {exc}")
                return
            except Exception as exc:
                if is_unavailable(exc):
                    log.warning("database unavailable (%s); %s %s waits for it", exc, envelope.type, envelope.id)
                    await asyncio.sleep(self._settings.startup_retry_seconds)
                    continue
                if attempt == attempts:
                    log.exception("giving up on %s %s after %d attempts", envelope.type, envelope.id, attempts)
                    await self._dead_letter(record, f"failed {attempts} times, last error: {type(exc).__name__}: {exc}")
                    return
                delay = self._settings.consumer_retry_backoff_ms / 1000 * 2 ** (attempt - 1)
                log.warning(
                    "attempt %d at %s %s failed (%s); retrying in %.2f s",
                    attempt,
                    envelope.type,
                    envelope.id,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                attempt += 1
                continue
            self._count([(record, processed)])
            return

    @staticmethod
    def _count(done: Sequence[tuple[ConsumerRecord, bool]]) -> None:
        """Count records consumed, whether processed or not (each topic's counter once for a batch)."""
        counts = Counter((record.topic, "processed" if processed else "duplicate") for record, processed in done)
        for labels, count in counts.items():
            EVENTS_CONSUMED.labels(*labels).inc(count)
        for record, processed in done:
            if not processed:
                log.info(
                    "ignored event %s[%d]@%d: processed before, or not this service's",
                    record.topic,
                    record.partition,
                    record.offset,
                )

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        """Park the record with why it failed and where it came from; retried until the broker takes it."""
        target = self._settings.dead_letter_topic(record.topic)
        headers = [
            *list(record.headers),
            ("dlq_reason", reason.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self._group_id.encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        while True:
            try:
                producer = await self._link.producer()
                await (await producer.send(target, value=record.value, key=record.key, headers=headers))
                break
            except KafkaError as exc:
                log.warning("cannot write dead letter to %s (%s); retrying", target, exc)
                await self._link.renew_producer()
                await asyncio.sleep(self._settings.startup_retry_seconds)
        DEAD_LETTERS.labels(record.topic).inc()
        self._tracing.failed(f"dead-lettered: {reason}")
        EVENTS_CONSUMED.labels(record.topic, "dead_lettered").inc()
        log.error(
            "dead-lettered %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            reason,
            extra={"dead_letter_topic": target},
        )
