"""Reading and writing topics with confluent-kafka (librdkafka): a client independent of the project's code."""

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer


@dataclass(frozen=True)
class Record:
    topic: str
    key: str | None
    headers: dict[str, str]
    value: dict[str, Any]


def _record(message: Any) -> Record:
    key, value = message.key(), message.value()
    headers = message.headers() or []
    return Record(
        topic=str(message.topic()),
        key=key.decode() if isinstance(key, bytes) else key,
        headers={name: raw.decode() for name, raw in headers},
        value=json.loads(value or b"null"),
    )


def read_until(bootstrap: str, topic: str, done: "Any", *, timeout: float = 60.0) -> list[Record]:
    """Read `topic` from the beginning until `done(records)` is true or the deadline passes."""
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
