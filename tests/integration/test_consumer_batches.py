"""A fetch's records handled in one transaction (consumer_batch_max), and what a failure among them costs:
the batch rolls back whole and its records are handled one at a time, each effect committed once, the bad record
dead-lettered. Run on SQLite and on PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator, Hashable
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.consumer import BatchHandler, EventConsumer, PermanentEventError
from services.contract.events import DeclarationCancelled, Topic
from services.contract.outbox import BatchRolledBack, Transaction
from services.contract.sqlite_direct import DirectConnection
from services.contract.tracing import Tracing
from services.customs.adapters import orm
from services.customs.bootstrap import Customs
from services.customs.bootstrap import bootstrap as bootstrap_customs
from services.customs.settings import CustomsSettings
from services.phyto.adapters import orm as phyto_orm
from services.phyto.bootstrap import Phyto
from services.phyto.bootstrap import bootstrap as bootstrap_phyto
from services.phyto.settings import PhytoSettings
from tests.support.databases import Databases
from tests.support.in_process import common_settings
from tests.support.independent_kafka import read_until
from tests.support.waiting import eventually
from tests.unit.builders import (
    AT,
    agency_decision_made,
    certificate,
    certificate_received,
    clearance_decided,
    declaration,
    declaration_submitted,
    document,
    goods_item,
)

pytestmark = pytest.mark.integration
OUTBOX, INBOX, _ = orm.messaging
POISON = "poison"
"""The correlation id of an event the test's effect refuses."""


@pytest.fixture
async def customs(
    request: pytest.FixtureRequest, kafka_bootstrap: str, topic_prefix: str, database: Databases
) -> AsyncIterator[Customs]:
    """A customs service for its database, outbox and inbox; the test consumes a topic customs does not read.
    Its topics have one partition, or as many as the test's `partitions` mark says."""
    marked = request.node.get_closest_marker("partitions")
    partitions = marked.args[0] if marked else 1
    settings = CustomsSettings(
        database_url=await database.url("customs"),
        **(
            common_settings(kafka_bootstrap, topic_prefix) | {"topic_partitions": partitions, "consumer_max_retries": 0}
        ),
    )
    service = bootstrap_customs(settings)
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.runtime.stop()


class Recorder:
    """The test's effect: publishes a decision for each clearance taken in (neither topic is customs'), and notes
    the database transaction it ran in."""

    def __init__(self, customs: Customs) -> None:
        self._inbox = customs.runtime.inbox
        self.transactions: list[Hashable] = []
        self._kept: list[object] = []  # so that no id is reused by a later transaction or connection
        self.calls = 0

    async def handler(self, envelope: Envelope, record: ConsumerRecord) -> bool:
        async def effect(transaction: Transaction, event: Envelope) -> None:
            self.calls += 1
            self.transactions.append(self._database_transaction(transaction.connection))
            if event.correlation_id == POISON:
                raise PermanentEventError("refused by the test")
            await transaction.publish(
                Envelope(data=agency_decision_made(), source="test", correlation_id=event.id, id=out(event.id))
            )

        return await self._inbox.process(envelope, record, effect)

    def _database_transaction(self, connection: AsyncConnection) -> Hashable:
        """Which database transaction `connection` is in: SQLAlchemy's own, or one begun on SQLite's connection."""
        self._kept.append(connection)
        if isinstance(connection, DirectConnection):
            return id(connection), connection.transactions_begun
        begun = connection.get_transaction()
        self._kept.append(begun)
        return id(begun)


def out(event_id: str) -> str:
    """The id of the event the test's effect publishes for `event_id`."""
    return output_event_id(event_id, "test")


async def produce(customs: Customs, topic: str, correlation_ids: list[str], partitions: int = 1) -> list[str]:
    """Events on `topic`, dealt in turn to its first `partitions` partitions (in order on each); their ids."""
    producer = await customs.runtime.link.producer()
    ids = []
    for n, correlation in enumerate(correlation_ids):
        envelope = Envelope(data=clearance_decided(), source="test", correlation_id=correlation)
        await producer.send_and_wait(topic, envelope.value(), headers=envelope.headers(), partition=n % partitions)
        ids.append(envelope.id)
    return ids


async def rows(customs: Customs, table: Table, column: str, values: list[str]) -> int:
    async with customs.runtime.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(table).where(getattr(table.c, column).in_(values))
        )
    return int(count or 0)


async def consuming(
    customs: Customs,
    topic: str,
    recorder: Recorder,
    group: str,
    *,
    tracing: Tracing | None = None,
    batch_handler: BatchHandler | None = None,
    **settings: float,
) -> tuple[EventConsumer, asyncio.Task[None]]:
    consumer = EventConsumer(
        settings=customs.settings.model_copy(update=settings),
        link=customs.runtime.link,
        topics=[topic],
        group_id=group,
        handler=recorder.handler,
        tracing=tracing or customs.runtime.tracing,
        transactions=customs.runtime.transactions,
        batch_handler=batch_handler,
    )
    return consumer, asyncio.create_task(consumer.run())


async def consume_waiting(
    customs: Customs,
    topic_prefix: str,
    count: int,
    *,
    tracing: Tracing | None = None,
    batch_handler: BatchHandler | None = None,
    partitions: int = 1,
    **settings: float,
) -> Recorder:
    """`count` events put on the topic's `partitions` partitions before the consumer joins, then consumed; the
    effects' record."""
    topic = customs.settings.topic(Topic.CLEARANCE)
    ids = await produce(customs, topic, [f"c{n}" for n in range(count)], partitions)
    recorder = Recorder(customs)
    consumer, running = await consuming(
        customs, topic, recorder, f"{topic_prefix}batches", tracing=tracing, batch_handler=batch_handler, **settings
    )
    if tracing is not None:
        tracing.start()  # after the consumer is built, as in a service (Runtime.start)
    try:

        async def all_taken_in() -> bool:
            assert not running.done(), running.exception()
            return await rows(customs, INBOX, "event_id", ids) == len(ids)

        await eventually(all_taken_in, within=60, what=f"the {count} events in the inbox")
    finally:
        consumer.stop()
        await asyncio.wait_for(running, timeout=30)
    assert recorder.calls == len(ids)  # each effect ran once: no batch rolled back
    assert await rows(customs, OUTBOX, "event_id", [out(event_id) for event_id in ids]) == len(ids)
    return recorder


async def test_records_waiting_on_a_partition_are_handled_in_one_transaction(
    customs: Customs, topic_prefix: str
) -> None:
    recorder = await consume_waiting(customs, topic_prefix, 30, consumer_batch_ms=60_000)
    # One at a time, every effect would have had a transaction of its own.
    assert len(set(recorder.transactions)) < 30


@pytest.mark.partitions(3)
async def test_records_waiting_on_several_partitions_share_a_transaction(customs: Customs, topic_prefix: str) -> None:
    """A fetch bringing a few records from each partition pays one transaction, not one a partition."""
    recorder = await consume_waiting(customs, topic_prefix, 12, partitions=3, consumer_batch_ms=60_000)
    assert len(set(recorder.transactions)) < 3


async def test_a_batch_takes_no_record_once_it_is_consumer_batch_ms_old(customs: Customs, topic_prefix: str) -> None:
    recorder = await consume_waiting(customs, topic_prefix, 10, consumer_batch_ms=0)
    assert len(set(recorder.transactions)) == 10


async def test_with_tracing_on_each_event_of_a_batch_is_handled_in_its_own_span(
    customs: Customs, topic_prefix: str
) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing("batches", lambda: exporter)
    handed_over: list[int] = []

    async def batch_handler(events: list[tuple[Envelope, ConsumerRecord]]) -> list[bool]:
        handed_over.append(len(events))
        return [False] * len(events)

    try:
        recorder = await consume_waiting(
            customs, topic_prefix, 10, tracing=tracing, batch_handler=batch_handler, consumer_batch_ms=60_000
        )
    finally:
        await tracing.stop()
    assert handed_over == []  # the batch handler would have taken them without a span each
    assert len(set(recorder.transactions)) < 10  # still batched
    assert len([span for span in exporter.get_finished_spans() if span.name.startswith("process ")]) == 10


async def test_a_failure_in_a_batch_costs_only_the_record_that_failed(customs: Customs, topic_prefix: str) -> None:
    topic = customs.settings.topic(Topic.CLEARANCE)
    good_before = await produce(customs, topic, [f"a{n}" for n in range(5)])
    poison = await produce(customs, topic, [POISON])
    producer = await customs.runtime.link.producer()
    await producer.send_and_wait(topic, b"not an event", headers=[("ce_specversion", b"1.0")])
    good_after = await produce(customs, topic, [f"b{n}" for n in range(5)])
    good = good_before + good_after
    recorder = Recorder(customs)
    consumer, running = await consuming(customs, topic, recorder, f"{topic_prefix}batches")
    try:
        dead = await asyncio.to_thread(
            read_until, customs.settings.kafka_bootstrap, f"{topic}.dlq", lambda records: len(records) >= 2
        )

        async def good_taken_in() -> bool:
            assert not running.done(), running.exception()
            return await rows(customs, INBOX, "event_id", good) == len(good)

        await eventually(good_taken_in, within=60, what="the 10 good events in the inbox")
    finally:
        consumer.stop()
        await asyncio.wait_for(running, timeout=30)
    assert sorted(record.headers.get("ce_id", "") for record in dead) == sorted(["", *poison])
    assert any("refused by the test" in record.headers["dlq_reason"] for record in dead)
    assert any("missing header(s)" in record.headers["dlq_reason"] for record in dead)
    assert await rows(customs, INBOX, "event_id", poison) == 0
    # What the rolled-back batch published is gone with it: one event for each good one, as their effects ran
    # again one at a time.
    assert await rows(customs, OUTBOX, "event_id", [out(event_id) for event_id in good]) == len(good)
    async with customs.runtime.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(OUTBOX)) == len(good)
    assert recorder.calls > len(good) + 1


async def test_a_failure_caught_inside_a_batch_still_rolls_the_batch_back(customs: Customs) -> None:
    transactions = customs.runtime.transactions
    events = [Envelope(data=agency_decision_made(), source="test", correlation_id=f"e{n}") for n in range(2)]
    outcomes: list[str] = []

    async def swallowing_a_failure() -> None:
        async with transactions.batch():
            async with transactions.begin() as transaction:
                await transaction.publish(events[0])
            try:
                async with transactions.begin():
                    raise ValueError("refused inside")
            except ValueError as exc:
                outcomes.append(str(exc))  # caught: the batch must not commit all the same
            try:
                async with transactions.begin() as transaction:
                    await transaction.publish(events[1])
            except BatchRolledBack as exc:
                outcomes.append(str(exc))

    with pytest.raises(BatchRolledBack, match="ValueError: refused inside"):
        await swallowing_a_failure()
    assert outcomes == ["refused inside", "an earlier transaction of the batch failed"]
    assert await rows(customs, OUTBOX, "event_id", [event.id for event in events]) == 0

    async with transactions.batch():
        for event in events:
            async with transactions.begin() as transaction:
                await transaction.publish(event)
    assert await rows(customs, OUTBOX, "event_id", [event.id for event in events]) == 2


def record_of(envelope: Envelope, offset: int) -> ConsumerRecord:
    value = envelope.value()
    return ConsumerRecord("declarations", 0, offset, 0, 0, None, value, None, 0, len(value), tuple(envelope.headers()))


async def test_customs_decides_a_batch_as_it_would_one_event_at_a_time(customs: Customs) -> None:
    ids = [f"01JD00000000000000000BATC{n}" for n in "ABCD"]
    a, b, c, d = (declaration_submitted(declaration_id=declaration_id) for declaration_id in ids)
    lodged_b = Envelope(data=b, source="gateway", correlation_id="b")
    cancelled_b = DeclarationCancelled(declaration_id=ids[1], version=1, reason="withdrawn", cancelled_at=AT)
    events = [
        Envelope(data=a, source="gateway", correlation_id="a"),
        lodged_b,
        Envelope(data=a, source="gateway", correlation_id="a again"),  # the same declaration: customs holds it
        Envelope(data=c.model_copy(update={"required_agencies": ["phyto"]}), source="gateway", correlation_id="c"),
        Envelope(data=cancelled_b, source="gateway", correlation_id="b"),
        lodged_b,  # redelivered
        Envelope(data=d, source="gateway", correlation_id="d"),
    ]
    async with customs.runtime.transactions.batch():
        answers = await customs.on_events([(event, record_of(event, n)) for n, event in enumerate(events)])
    # Processed: each but the lodgement not routed to customs and the redelivery.
    assert answers == [True, True, True, False, True, False, True]
    async with customs.runtime.engine.connect() as connection:
        decided = (await connection.execute(select(orm.decisions.c.declaration_id, orm.decisions.c.sequence))).all()
        stored = dict(
            (await connection.execute(select(orm.declarations.c.declaration_id, orm.declarations.c.cancelled_at))).all()
        )
    assert sorted(decided) == [(ids[0], 1), (ids[1], 1), (ids[3], 1)]  # A decided once, not again
    assert set(stored) == {ids[0], ids[1], ids[3]}
    assert stored[ids[1]] is not None
    assert stored[ids[0]] is None
    published = [output_event_id(event.id, "customs") for event in (events[0], events[1], events[6])]
    assert await rows(customs, OUTBOX, "event_id", published) == 3


async def phyto_decided_on(service: Phyto) -> dict[str, Any]:
    """What phyto keeps of its decisions: the declarations, what they cite, the decisions and the events."""
    tables = {
        "declarations": select(*(column for column in phyto_orm.declarations.c if column.name != "body")),
        "links": select(phyto_orm.declaration_certificates),
        "certificates": select(phyto_orm.certificates),
        "decisions": select(*(column for column in phyto_orm.decisions.c if column.name != "decided_at")),
        "events": select(phyto_orm.outbox.c.event_id, phyto_orm.outbox.c.key, phyto_orm.outbox.c.value),
    }
    async with service.runtime.engine.connect() as connection:
        return {name: sorted(await connection.execute(query)) for name, query in tables.items()}


async def test_phyto_decides_a_batch_as_it_would_one_event_at_a_time(
    kafka_bootstrap: str, topic_prefix: str, database: Databases
) -> None:
    """The same events on two fresh phyto databases: all at once through the batch handler, and one at a time."""
    old, new, absent = "NL-T-BATCH-OLD", "NL-T-BATCH-NEW", "NL-T-BATCH-ABSENT"
    ids = [f"01JD00000000000000000PHYT{n}" for n in "ABCDEF"]

    def lodged(n: int, *numbers: str, agencies: tuple[str, ...] = ("customs", "phyto")) -> Envelope:
        cited = declaration(goods_item(documents=[document(number) for number in numbers]))
        submitted = declaration_submitted(declaration_id=ids[n], declaration=cited, required_agencies=list(agencies))
        return Envelope(data=submitted, source="gateway", correlation_id=f"lodged {n}")

    def received(number: str, certificate_id: str, **fields: Any) -> Envelope:
        data = certificate_received(certificate_id=certificate_id, certificate=certificate(number, **fields))
        return Envelope(data=data, source="gateway", correlation_id=number)

    second, third, unrelated = "NL-T-BATCH-2ND", "NL-T-BATCH-3RD", "NL-T-BATCH-UNRELATED"
    lodged_b = lodged(1, absent)
    events = [
        received(old, "01JC0000000000000000000OLD"),
        received(new, "01JC0000000000000000000NEW", replaced_certificate_number=old),  # alone: a replacement
        lodged(0, old),  # the replacement is in force
        lodged_b,  # awaits its certificate
        lodged(0, old),  # the same declaration again: phyto holds it
        lodged(2, absent, agencies=("customs",)),  # not routed to phyto
        lodged(3, new, absent),
        lodged_b,  # redelivered
        lodged(4),  # cites nothing
        lodged(5, second, third),
        received(absent, "01JC000000000000000000ABS"),  # B and D released
        received(second, "01JC000000000000000000SEC"),  # F still awaits the third: a new decision all the same
        received(third, "01JC000000000000000000THI"),  # F released
        received(unrelated, "01JC000000000000000000UNR"),
        received(absent, "01JC000000000000000000ABS"),  # sent again: phyto holds it, so one at a time
    ]
    records = [(event, record_of(event, n)) for n, event in enumerate(events)]
    kept = []
    for name in ("together", "alone"):
        settings = PhytoSettings(
            database_url=await database.url(f"phyto_{name}"),
            inspection_key="test-inspection-key-0123456789",
            **common_settings(kafka_bootstrap, f"{topic_prefix}{name}."),
        )
        service = bootstrap_phyto(settings, clock=lambda: AT)
        await service.runtime.start()
        try:
            if name == "together":
                async with service.runtime.transactions.batch():
                    answers = await service.on_events(records)
            else:
                answers = [await service.on_event(event, record) for event, record in records]
            kept.append((answers, await phyto_decided_on(service)))
        finally:
            await service.runtime.stop()
    (answers, together), (answers_alone, alone) = kept
    assert answers == answers_alone == [True] * 5 + [False, True, False] + [True] * 7
    assert together == alone
    outcomes = {row.declaration_id: row.outcome for row in together["declarations"]}
    assert outcomes == {ids[0]: "released", ids[1]: "released", ids[3]: "released", ids[4]: "held", ids[5]: "released"}
    assert sorted(row.sequence for row in together["decisions"] if row.declaration_id == ids[5]) == [1, 2, 3]
