"""A rebalance while the consume loop is in the middle of a batch: the partition it lost is no longer its to
commit, and the broker refuses the commit. The loop must go on consuming (it used to die, leaving its
partitions unread until the service was restarted), and the partition's new owner reads the records again."""

import asyncio
import logging

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from services.contract.cloudevents import Envelope
from services.contract.consumer import EventConsumer
from services.contract.events import Topic
from services.contract.kafka import KafkaLink, connection
from services.contract.settings import ServiceSettings
from services.contract.tracing import Tracing
from tests.support.waiting import eventually
from tests.unit.builders import declaration_submitted

pytestmark = pytest.mark.integration
PARTITIONS = 2


async def test_a_commit_refused_after_a_rebalance_leaves_the_consumer_consuming(
    kafka_bootstrap: str, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServiceSettings(
        service_name="rebalance", kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix, topic_partitions=2
    )
    link = KafkaLink(settings)
    await link.connect()
    topic = settings.topic(Topic.DECLARATIONS)
    group = f"{topic_prefix}rebalance"
    producer = await link.producer()

    async def send(count: int) -> dict[int, set[str]]:
        """Event ids sent, by partition."""
        ids: dict[int, set[str]] = {partition: set() for partition in range(PARTITIONS)}
        for n in range(count):
            envelope = Envelope(data=declaration_submitted(), source="test", correlation_id=f"c{n}")
            await producer.send_and_wait(topic, envelope.value(), headers=envelope.headers(), partition=n % PARTITIONS)
            ids[n % PARTITIONS].add(envelope.id)
        return ids

    # Records on both partitions before the consumer joins, so that its first batch holds both of them.
    first = await send(20)
    intruder = AIOKafkaConsumer(topic, **connection(settings), group_id=group, enable_auto_commit=False)
    handled: list[tuple[int, str]] = []
    rebalanced = asyncio.Event()

    async def handler(envelope: Envelope, record: ConsumerRecord) -> bool:
        if not handled:
            # In the middle of the batch, a second member joins the group and takes one of the two partitions.
            await intruder.start()

            async def intruder_assigned() -> bool:
                await intruder.getmany(timeout_ms=100)
                return bool(intruder.assignment())

            await eventually(intruder_assigned, within=60, what="the second member to be assigned a partition")
            rebalanced.set()
        handled.append((record.partition, envelope.id))
        return True

    def handled_on(partitions: set[int]) -> set[str]:
        return {event_id for partition, event_id in handled if partition in partitions}

    consumer = EventConsumer(
        settings=settings, link=link, topics=[topic], group_id=group, handler=handler, tracing=Tracing("rebalance")
    )
    running = asyncio.create_task(consumer.run())
    try:
        with caplog.at_level(logging.WARNING, logger="services.contract.consumer"):
            await asyncio.wait_for(rebalanced.wait(), timeout=90)
            blocked_on = handled[0][0]
            lost = {partition.partition for partition in intruder.assignment()}
            kept = set(range(PARTITIONS)) - lost

            async def kept_partitions_handled() -> bool:
                assert not running.done(), running.exception()
                return all(first[partition] <= handled_on({partition}) for partition in kept)

            await eventually(kept_partitions_handled, within=60, what="the records of the kept partition")
            # Nothing more of the lost partition was handled once it was gone, and its commit was refused.
            assert handled_on(lost) <= {handled[0][1]}
            refused = [r.getMessage() for r in caplog.records if "not committed after a rebalance" in r.getMessage()]
            assert bool(refused) == (blocked_on in lost), refused
            await intruder.stop()  # it leaves: every partition comes back to the consume loop

            everything = set().union(*first.values())

            async def all_handled() -> bool:
                assert not running.done(), running.exception()
                return everything <= handled_on(set(range(PARTITIONS)))

            await eventually(all_handled, within=60, what="every record of both partitions to be handled")
            later = set().union(*(await send(6)).values())

            async def later_handled() -> bool:
                assert not running.done(), running.exception()
                return later <= handled_on(set(range(PARTITIONS)))

            await eventually(later_handled, within=60, what="records sent after the rebalance to be handled")
    finally:
        consumer.stop()
        await asyncio.wait_for(running, timeout=30)
        await link.close()
