"""Topics of the ingest benchmark on its broker, and the relay lag read back from the gateway's topics: the time
from a submission's acceptance (its event's ce_time, set in the committing transaction) to the broker appending
the event (the record timestamp; the gateway's topics are created first with LogAppendTime for that)."""

import asyncio
import statistics
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

PARTITIONS = 3
"""As the gateway's own topics (topic_partitions' default), for every topic of the benchmark."""


async def create_topics(bootstrap: str, names: list[str], *, log_append_time: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    await admin.start()
    try:
        configs = {"message.timestamp.type": "LogAppendTime"} if log_append_time else {}
        await admin.create_topics([NewTopic(name, PARTITIONS, 1, topic_configs=configs) for name in names])
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def wait_published(bootstrap: str, topic: str, start: dict[int, int], expected: int, within: float) -> float:
    """Seconds until `expected` more records are on `topic` than at `start` (the outbox drained), or `within`."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while loop.time() - began < within:
        ends = await end_offsets(bootstrap, topic)
        if sum(ends.values()) - sum(start.values()) >= expected:
            break
        await asyncio.sleep(0.25)
    return loop.time() - began


async def settle(bootstrap: str, topic: str, within: float) -> dict[int, int]:
    """The end offsets once they stop moving for a second (what an earlier load left in the outbox is out)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    ends = await end_offsets(bootstrap, topic)
    while loop.time() - began < within:
        await asyncio.sleep(1.0)
        now = await end_offsets(bootstrap, topic)
        if now == ends:
            break
        ends = now
    return ends


async def relay_lag(bootstrap: str, topic: str, start: dict[int, int], end: dict[int, int]) -> dict[str, Any]:
    """Per record between the offsets: LogAppendTime minus the event's ce_time, in milliseconds."""
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS) if end[p] > start[p]]
    if not partitions:
        # No consumer then: one stopped before its event loop has run again raises CancelledError from a task of
        # aiokafka's own (aio-libs/aiokafka#647), which ended a full run here once.
        return {"records": 0}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    lags: list[float] = []
    try:
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        remaining = {tp: end[tp.partition] - start[tp.partition] for tp in partitions}
        while any(count > 0 for count in remaining.values()):
            batches = await consumer.getmany(timeout_ms=2000, max_records=5000)
            if not batches:
                break
            for tp, records in batches.items():
                for record in records[: max(0, remaining[tp])]:
                    headers = dict(record.headers)
                    if "ce_time" in headers:
                        accepted = datetime.fromisoformat(headers["ce_time"].decode()).timestamp() * 1000
                        lags.append(record.timestamp - accepted)
                remaining[tp] -= len(records)
    finally:
        await consumer.stop()
    if not lags:
        return {"records": 0}
    lags.sort()
    return {
        "records": len(lags),
        "p50_ms": statistics.median(lags),
        "p99_ms": lags[min(len(lags) - 1, int(0.99 * len(lags)))],
        "max_ms": lags[-1],
    }
