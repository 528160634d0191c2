"""Reading and writing topics with confluent-kafka (librdkafka): a client independent of the project's code."""

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient


@dataclass(frozen=True)
class Record:
    topic: str
    key: str | None
    headers: dict[str, str]
    value: bytes

    @property
    def payload(self) -> Any:
        return json.loads(self.value)


def _record(message: Any) -> Record:
    key, value = message.key(), message.value()
    headers = message.headers() or []
    return Record(
        topic=str(message.topic()),
        key=key.decode() if isinstance(key, bytes) else key,
        headers={name: raw.decode() for name, raw in headers},
        value=value or b"",
    )


def read_until(bootstrap: str, topic: str, done: "Any", *, timeout: float = 60.0) -> list[Record]:
    """Read `topic` from the beginning until `done(records)` is true or the deadline passes.

    This blocks: from async code, run it with asyncio.to_thread so the event loop keeps serving.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"independent-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done(records):
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            records.append(_record(message))
    finally:
        consumer.close()
    return records


def produce(
    bootstrap: str, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, str | bytes | None]]
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    producer.produce(topic, key=key, value=value, headers=headers)
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} record(s) not delivered to {topic}"


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` (a test's own topics)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    for future in admin.delete_topics(names, operation_timeout=30).values() if names else []:
        future.result()
