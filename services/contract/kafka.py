"""The service's link to Kafka: topics created at start, one idempotent producer, connection state."""

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from services.contract.events import Topic
from services.contract.metrics import KAFKA_CONNECTED
from services.contract.settings import KafkaSecurity, ServiceSettings

log = logging.getLogger(__name__)


def connection(settings: ServiceSettings) -> dict[str, Any]:
    """Where the brokers are and how to authenticate to them: the arguments every aiokafka client takes."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol.value,
    }
    if settings.kafka_security_protocol in (KafkaSecurity.SSL, KafkaSecurity.SASL_SSL):
        options["ssl_context"] = create_ssl_context(  # the ssl module takes paths as they are
            cafile=settings.kafka_ssl_cafile, certfile=settings.kafka_ssl_certfile, keyfile=settings.kafka_ssl_keyfile
        )
    if settings.kafka_security_protocol in (KafkaSecurity.SASL_PLAINTEXT, KafkaSecurity.SASL_SSL):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_password()
    return options


async def behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """True while some partition has records before the end offsets taken at the start."""
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return True
    return False


def topic_names(settings: ServiceSettings) -> list[str]:
    """Every topic the project uses, with its dead-letter twin."""
    names = [settings.topic(topic) for topic in Topic]
    return names + [settings.dead_letter_topic(name) for name in names]


def topic_configs(settings: ServiceSettings, name: str) -> dict[str, str]:
    """What a topic is created with beyond the broker's defaults: the audit anchors are kept for good (the broker
    would delete them after a week), since they are what an edited or truncated audit trail is checked against."""
    return {"retention.ms": "-1", "retention.bytes": "-1"} if name == settings.topic(Topic.AUDIT) else {}


async def ensure_topics(settings: ServiceSettings) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(**connection(settings), client_id=f"{settings.service_name}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topic_names(settings) if name not in existing]
        if missing:
            new = [
                NewTopic(
                    name,
                    settings.topic_partitions,
                    settings.topic_replication,
                    topic_configs=topic_configs(settings, name),
                )
                for name in missing
            ]
            with suppress(TopicAlreadyExistsError):  # another service created them at the same moment
                await admin.create_topics(new)
        return missing
    finally:
        await admin.close()


class KafkaLink:
    """Connects in the background with retries, so a service starts even while the broker is down."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self.last_error: str | None = None

    @property
    def started(self) -> bool:
        """The topics exist and a producer started once (consumers and the relay can be working)."""
        return self._ready.is_set()

    @property
    def connected(self) -> bool:
        return self._ready.is_set() and self.last_error is None

    def record(self, error: Exception | None) -> None:
        """Note the outcome of the latest exchange with the broker, for /health."""
        self.last_error = None if error is None else f"{type(error).__name__}: {error}"
        KAFKA_CONNECTED.set(1 if self.connected else 0)

    async def connect(self) -> None:
        """Create the topics and start the producer, retrying until the broker answers."""
        settings = self._settings
        while True:
            try:
                created = await ensure_topics(settings)
                if created:
                    log.info("created topics", extra={"topics": created})
                await self.producer(wait=False)
            except (KafkaError, OSError) as exc:
                self.record(exc)
                log.warning(
                    "Kafka at %s is not reachable (%s); retrying in %.1f s",
                    settings.kafka_bootstrap,
                    exc,
                    settings.startup_retry_seconds,
                )
                await asyncio.sleep(settings.startup_retry_seconds)
                continue
            self._ready.set()
            self.record(None)
            log.info("connected to Kafka at %s", settings.kafka_bootstrap)
            return

    async def wait_connected(self) -> None:
        """Return once the topics exist and the first producer started."""
        await self._ready.wait()

    async def producer(self, *, wait: bool = True) -> AIOKafkaProducer:
        """The producer, started on first use or after `renew_producer`; raises KafkaError when it cannot start."""
        if wait:
            await self._ready.wait()
        async with self._producer_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **connection(self._settings),
                    client_id=self._settings.service_name,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=5,
                    # aiokafka's send() waits, when a partition's batch is full, until its sender has handed that
                    # batch to the broker: with its 16 KiB a relay batch of decisions paid a round trip every ten
                    # events, each waiting for the event loop's turn behind a consumer's work (publishing 180 a
                    # second while the consumer decided 2,000). A relay batch now fits one producer batch per
                    # partition.
                    max_batch_size=self._settings.kafka_producer_batch_bytes,
                    # Undeliverable batches expire after this: while they wait, aiokafka's sender keeps asking
                    # for metadata, which costs CPU when no broker answers.
                    request_timeout_ms=self._settings.kafka_request_timeout_ms,
                )
                await producer.start()
                self._producer = producer
            return self._producer

    async def renew_producer(self) -> None:
        """Drop the producer after a failed delivery; the next `producer()` starts a new one.

        Expired batches leave gaps in an idempotent producer's sequence numbers, and aiokafka then fails
        every later batch (OutOfOrderSequenceNumber) instead of taking a new producer id. A new producer
        starts clean; what it publishes again, consumers recognise by event id.
        """
        async with self._producer_lock:
            old, self._producer = self._producer, None
        if old is not None:
            with suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(old.stop(), timeout=self._settings.kafka_request_timeout_ms / 1000 + 5)

    async def reachable(self, within: float = 1.0) -> bool:
        """True when some bootstrap server accepts a TCP connection: a cheap probe before producing again."""
        for address in self._settings.kafka_bootstrap.split(","):
            host, _, port = address.strip().rpartition(":")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), within)
            except (OSError, TimeoutError, ValueError):
                continue
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()
            return True
        return False

    async def close(self) -> None:
        await self.renew_producer()
        self._ready.clear()
        KAFKA_CONNECTED.set(0)


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def behind(self) -> int:
        return self.end - self.committed


class OffsetProbe:
    """Reads offsets, keeping its two clients between readings: how far consumer groups are behind, and how
    many records the dead-letter topics hold."""

    def __init__(self, settings: ServiceSettings, *, client_id: str) -> None:
        self._settings = settings
        self._admin = AIOKafkaAdminClient(**connection(settings), client_id=client_id)
        self._consumer = AIOKafkaConsumer(**connection(settings), group_id=None, client_id=client_id)
        self._started = False

    async def _start(self) -> None:
        if not self._started:
            self._started = True  # from here on close() stops whatever did start
            await self._admin.start()
            await self._consumer.start()

    async def lag(self, groups: list[str] | None = None) -> list[Lag]:
        """Per partition of these settings' topics that a group has committed on: its offset and the end.

        `groups` None: every group on the cluster."""
        await self._start()
        ours = set(topic_names(self._settings))
        if groups is None:
            groups = sorted(group for group, *_ in await self._admin.list_consumer_groups())
        committed = {group: await self._admin.list_consumer_group_offsets(group) for group in groups}
        partitions = {partition for offsets in committed.values() for partition in offsets if partition.topic in ours}
        ends = await self._consumer.end_offsets(list(partitions)) if partitions else {}
        return [
            Lag(group, partition.topic, partition.partition, offset.offset, ends[partition])
            for group in groups
            for partition, offset in sorted(committed[group].items())
            if partition in ends
        ]

    async def dead_letters(self) -> dict[str, int]:
        """The records each dead-letter topic holds now (retention may have removed older ones)."""
        await self._start()
        await self._consumer.topics()  # refreshes the metadata: the partitions of every topic
        names = [name for name in topic_names(self._settings) if name.endswith(".dlq")]
        partitions = [
            TopicPartition(name, number) for name in names for number in self._consumer.partitions_for_topic(name) or ()
        ]
        held = dict.fromkeys(names, 0)
        if not partitions:
            return held
        ends = await self._consumer.end_offsets(partitions)
        starts = await self._consumer.beginning_offsets(partitions)
        for partition in partitions:
            held[partition.topic] += ends[partition] - starts[partition]
        return held

    async def close(self) -> None:
        if self._started:
            self._started = False
            with suppress(KafkaError, OSError):
                await self._consumer.stop()
            with suppress(KafkaError, OSError):
                await self._admin.close()


async def consumer_lag(settings: ServiceSettings) -> list[Lag]:
    """How far each consumer group of these settings' topics is behind, per partition it has committed on."""
    probe = OffsetProbe(settings, client_id=f"{settings.service_name}-lag")
    try:
        return await probe.lag()
    finally:
        await probe.close()
