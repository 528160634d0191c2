"""The consumer benchmark's side of the broker: its topics, the pre-load, and the decisions read back.

The decisions topic is created with LogAppendTime, so each decision's record timestamp is when the broker appended
it: the times of the first and the last decision come from the broker, not from this process's reading.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.consumers.workload import Record
from services.contract.events import AgencyDecisionMade, Topic

DECISION_TYPE = AgencyDecisionMade.type_name()


async def create_topics(bootstrap: str, prefix: str, partitions: int) -> None:
    """The run's input topics and its decisions topic (LogAppendTime), before any service creates them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-consumers-admin")
    await admin.start()
    try:
        inputs = [NewTopic(prefix + topic.value, partitions, 1) for topic in (Topic.DECLARATIONS, Topic.CERTIFICATES)]
        decisions = NewTopic(
            prefix + Topic.DECISIONS.value, partitions, 1, topic_configs={"message.timestamp.type": "LogAppendTime"}
        )
        await admin.create_topics([*inputs, decisions])
    finally:
        await admin.close()


async def preload(bootstrap: str, prefix: str, records: list[Record]) -> float:
    """Send every record (idempotent producer, acks=all, as the services' relays) and wait for all; seconds taken."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=20, max_batch_size=1 << 20
    )
    began = time.monotonic()
    await producer.start()
    try:
        deliveries = [
            await producer.send(prefix + record.topic, value=record.value, key=record.key, headers=record.headers)
            for record in records
        ]
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return time.monotonic() - began


async def message_count(bootstrap: str, topic: str, partitions: int) -> int:
    """Records on `topic` (0 when it does not exist): to check that nothing was dead-lettered."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return 0
        tps = [TopicPartition(topic, number) for number in range(partitions)]
        ends, starts = await consumer.end_offsets(tps), await consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()


@dataclass
class Decisions:
    """The decisions read back, and when each declaration got the one that counts."""

    expected: set[str]
    final: Callable[[dict[str, Any]], bool]
    """Whether a decision is the one that counts for its declaration (customs: any; phyto: awaits no certificate)."""
    decided_at_ms: dict[str, int] = field(default_factory=dict)
    per_declaration: dict[str, int] = field(default_factory=dict)
    event_ids: set[str] = field(default_factory=set)
    duplicate_event_ids: int = 0
    unexpected: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    total: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    def take(self, timestamp_ms: int, headers: dict[str, bytes], value: bytes) -> None:
        if headers.get("ce_type", b"").decode() != DECISION_TYPE:
            self.unexpected += 1
            return
        event_id = headers["ce_id"].decode()
        if event_id in self.event_ids:
            self.duplicate_event_ids += 1
            return
        self.event_ids.add(event_id)
        data = orjson.loads(value)
        declaration_id = data["declaration_id"]
        if declaration_id not in self.expected:
            self.unexpected += 1
            return
        self.total += 1
        self.first_ms = timestamp_ms if self.first_ms is None else min(self.first_ms, timestamp_ms)
        self.last_ms = timestamp_ms if self.last_ms is None else max(self.last_ms, timestamp_ms)
        self.per_declaration[declaration_id] = self.per_declaration.get(declaration_id, 0) + 1
        if declaration_id not in self.decided_at_ms and self.final(data):
            self.decided_at_ms[declaration_id] = timestamp_ms
            self.outcomes[data["outcome"]] = self.outcomes.get(data["outcome"], 0) + 1

    @property
    def complete(self) -> bool:
        return len(self.decided_at_ms) == len(self.expected)

    @property
    def missing(self) -> int:
        return len(self.expected) - len(self.decided_at_ms)


class DecisionReader:
    """Reads a decisions topic from its beginning, into `decisions`."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, decisions: Decisions) -> None:
        self.decisions = decisions
        self._topic = topic
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=1 << 22
        )
        self._partitions = [TopicPartition(topic, number) for number in range(partitions)]

    async def __aenter__(self) -> "DecisionReader":
        await self._consumer.start()
        try:
            self._consumer.assign(self._partitions)
            await self._consumer.seek_to_beginning(*self._partitions)
        except BaseException:
            await self._consumer.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def _fetch(self) -> None:
        batches = await self._consumer.getmany(timeout_ms=500, max_records=10_000)
        for records in batches.values():
            for record in records:
                self.decisions.take(record.timestamp, dict(record.headers), record.value)

    async def until_complete(self, *, within: float, check: Callable[[], None]) -> bool:
        """Read until every expected declaration has its decision (True), or `within` seconds pass (False);
        `check` runs between fetches (it raises when an instance died)."""
        deadline = time.monotonic() + within
        while not self.decisions.complete:
            if time.monotonic() > deadline:
                return False
            check()
            await self._fetch()
        return True

    async def to_end(self, within: float = 30) -> None:
        """Read what is on the topic now (after the instances stopped): late duplicates and extra decisions."""
        ends = await self._consumer.end_offsets(self._partitions)
        deadline = time.monotonic() + within
        while [tp for tp, end in ends.items() if await self._consumer.position(tp) < end]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._topic}: not read to its end within {within:.0f} s")
            await self._fetch()
