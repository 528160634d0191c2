"""A fetch's records, each partition's in order, and a partition given away while the fetch is handled: none of its
records is taken after that in the fetch, even when a rebalance gives it back meanwhile, since one of them was left
to be read again from the last committed offset."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from services.contract.cloudevents import Envelope
from services.contract.consumer import EventConsumer
from services.contract.settings import ServiceSettings
from services.contract.tracing import Tracing
from tests.unit.builders import clearance_decided

TOPIC = "clearance"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


class Group:
    """Stands in for the consumer's group membership: the partitions assigned to it, all the handling asks."""

    def __init__(self, *partitions: TopicPartition) -> None:
        self.partitions = set(partitions)

    def assignment(self) -> set[TopicPartition]:
        return set(self.partitions)


def record(partition: int, offset: int) -> ConsumerRecord:
    envelope = Envelope(data=clearance_decided(), source="test", correlation_id=f"{partition}-{offset}")
    return ConsumerRecord(TOPIC, partition, offset, 0, 0, b"key", envelope.value(), None, 3, 10, envelope.headers())


class Batches:
    """Stands in for the service's transactions: a batch that holds nothing (what rolls back is the handler's)."""

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        yield


def consumer_of(handled: list[tuple[int, int]], group: Group, *, batches: bool = False) -> EventConsumer:
    """A consumer whose handler notes what it handled; a rebalance gives partition 0 away as 0-0 is handled, and
    gives it back as 1-0 is. With `batches`, the first batch fails at its last record and rolls back: its records
    are then handled one at a time."""
    rolled_back: list[bool] = []

    async def handler(_envelope: Envelope, taken: ConsumerRecord) -> bool:
        if batches and not rolled_back:
            if (taken.partition, taken.offset) == (0, 2):
                rolled_back.append(True)
                raise RuntimeError("the batch rolls back")
            return True  # undone with the batch
        handled.append((taken.partition, taken.offset))
        if (taken.partition, taken.offset) == (0, 0):
            group.partitions.discard(P0)
        if (taken.partition, taken.offset) == (1, 0):
            group.partitions.add(P0)
        return True

    link: Any = None  # nothing is dead-lettered, so nothing is sent
    transactions: Any = Batches() if batches else None
    return EventConsumer(
        settings=ServiceSettings(consumer_max_retries=0),
        link=link,
        topics=[TOPIC],
        group_id="g",
        handler=handler,
        tracing=Tracing("t"),
        transactions=transactions,
    )


async def test_each_partitions_records_are_handled_in_order_and_their_offsets_committed() -> None:
    handled: list[tuple[int, int]] = []
    group = Group(P0, P1)
    consumer = consumer_of(handled, group)
    fetch = [record(1, 5), record(1, 6), record(0, 3)]
    done = await consumer._process_fetch(group, fetch)
    assert handled == [(1, 5), (1, 6), (0, 3)]
    assert done == {P1: 7, P0: 4}


@pytest.mark.parametrize("batches", [False, True], ids=["one at a time", "a batch rolled back"])
async def test_a_partition_given_away_is_not_taken_up_again_in_the_same_fetch(batches: bool) -> None:
    handled: list[tuple[int, int]] = []
    group = Group(P0, P1)
    consumer = consumer_of(handled, group, batches=batches)
    done = await consumer._process_fetch(group, [record(0, 0), record(0, 1), record(1, 0), record(0, 2)])
    # 0-1 was left while partition 0 was away: 0-2 waits too, for its next owner to read them in order.
    assert handled == [(0, 0), (1, 0)]
    assert done == {P0: 1, P1: 1}
