"""Puts dead letters back on the topic they came from, once the cause is fixed.

`python -m services.operator replay --service customs --dead-letter-topic decisions.dlq` republishes every
record not replayed before (the replay keeps its own consumer group), without the dlq_* headers, and stops
when it has caught up. A dead letter with a `dlq_source` header is a document received from outside (an envelope
the ePhyto Hub delivered that did not parse), not an event of the topic: it is left where it is, since putting it
on the topic would only dead-letter it again; the sender has to send it again, corrected.
"""

import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.contract.kafka import behind, connection
from services.contract.settings import ServiceSettings

log = logging.getLogger(__name__)
DEAD_LETTER_HEADERS = "dlq_"


async def replay(settings: ServiceSettings, dead_letter_topic: str, *, group_id: str | None = None) -> int:
    """Republish the dead letters not replayed yet; return how many. Offsets commit after each produce."""
    consumer = AIOKafkaConsumer(
        dead_letter_topic,
        **connection(settings),
        group_id=group_id or f"{dead_letter_topic}.replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**connection(settings), acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    replayed = 0
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while await behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            for partition, records in batches.items():
                for record in records:
                    headers = dict(record.headers)
                    if "dlq_source" in headers:
                        log.warning(
                            "%s@%d is a document received from %s, not an event: not replayed",
                            dead_letter_topic,
                            record.offset,
                            headers["dlq_source"].decode(),
                        )
                        continue
                    target = headers.get("dlq_original_topic")
                    if target is None:
                        raise ValueError(f"{dead_letter_topic}@{record.offset} has no dlq_original_topic header")
                    kept = [(name, value) for name, value in record.headers if not name.startswith(DEAD_LETTER_HEADERS)]
                    await (await producer.send(target.decode(), value=record.value, key=record.key, headers=kept))
                    await consumer.commit({TopicPartition(partition.topic, partition.partition): record.offset + 1})
                    replayed += 1
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed
