"""The service's link to Kafka: topics created at start, one idempotent producer, connection state."""

import asyncio
import logging
from contextlib import suppress

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from services.contract.events import Topic
from services.contract.metrics import KAFKA_CONNECTED
from services.contract.settings import ServiceSettings

log = logging.getLogger(__name__)


def topic_names(settings: ServiceSettings) -> list[str]:
    """Every topic the project uses, with its dead-letter twin."""
    names = [settings.topic(topic) for topic in Topic]
    return names + [settings.dead_letter_topic(name) for name in names]


async def ensure_topics(settings: ServiceSettings) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id=f"{settings.service_name}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topic_names(settings) if name not in existing]
        if missing:
            new = [NewTopic(n, settings.topic_partitions, settings.topic_replication) for n in missing]
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
        self._ready = asyncio.Event()
        self.last_error: str | None = None

    @property
    def started(self) -> bool:
        """The producer has started at least once (consumers and the relay can be working)."""
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
                producer = AIOKafkaProducer(
                    bootstrap_servers=settings.kafka_bootstrap,
                    client_id=settings.service_name,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=5,
                )
                await producer.start()
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
            self._producer = producer
            self._ready.set()
            self.record(None)
            log.info("connected to Kafka at %s", settings.kafka_bootstrap)
            return

    async def producer(self) -> AIOKafkaProducer:
        """The started producer, once the link is up."""
        await self._ready.wait()
        assert self._producer is not None
        return self._producer

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        self._ready.clear()
        KAFKA_CONNECTED.set(0)
