"""Reading the audit trail's anchors back from Kafka: every AuditAnchored event on the audit topic."""

from aiokafka import AIOKafkaConsumer

from services.contract.cloudevents import decode
from services.contract.events import AuditAnchored, Topic
from services.contract.kafka import behind, connection
from services.contract.settings import ServiceSettings
from services.gateway.domain.audit import Anchor


async def published_anchors(settings: ServiceSettings, timeout_seconds: float = 30.0) -> list[Anchor]:
    """Every anchor on the audit topic, from its first record to its end when we asked (no consumer group)."""
    consumer = AIOKafkaConsumer(
        settings.topic(Topic.AUDIT),
        **connection(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"{settings.service_name}-audit-verify",
    )
    await consumer.start()
    try:
        waited = 0.0
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
            waited += 0.2
            if waited > timeout_seconds:
                raise TimeoutError(f"no partitions of {settings.topic(Topic.AUDIT)} within {timeout_seconds} s")
        partitions = list(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        anchors: list[Anchor] = []
        while await behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            for records in batches.values():
                for record in records:
                    event = decode(record.headers, record.value).data
                    if isinstance(event, AuditAnchored):
                        anchors.append(Anchor(event.position, event.hash))
        return anchors
    finally:
        await consumer.stop()
