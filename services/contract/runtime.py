"""What every service runs beside its HTTP app: migrations, the Kafka link, the outbox relay, consumers."""

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError

from services.contract.collector import settle
from services.contract.consumer import BatchHandler, EventConsumer, Handler, Inbox
from services.contract.database import MessagingTables, checkpointer, create_engine, ping, upgrade
from services.contract.doorbell import doorbell_for
from services.contract.kafka import KafkaLink
from services.contract.lag_sampler import LagSampler
from services.contract.lease import Lease
from services.contract.outbox import OutboxRelay, Transactions
from services.contract.settings import ServiceSettings
from services.contract.tracing import Tracing

log = logging.getLogger(__name__)


class Worker(Protocol):
    """A background loop: run() until stop() is called, finishing the work in hand."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class Runtime:
    """Owns the engine, the Kafka link and the background tasks of one service process."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        migrations: Path,
        tables: MessagingTables,
        ready_without_kafka: bool = False,
    ) -> None:
        self.settings = settings
        self.engine = engine = create_engine(settings.database_url)
        outbox, inbox, leases = tables
        self.link = KafkaLink(settings)
        self.tracing = Tracing.configured(settings)
        self.relay = OutboxRelay(
            engine=engine,
            outbox=outbox,
            lease=Lease(engine=engine, table=leases, name="outbox-relay", ttl_seconds=settings.relay_lease_seconds),
            link=self.link,
            batch_size=settings.outbox_batch_size,
            poll_ms=settings.outbox_poll_ms,
            tracing=self.tracing,
            doorbell=doorbell_for(engine),
        )
        self.transactions = Transactions(engine, outbox, settings, self.relay, tracing=self.tracing)
        self.inbox = Inbox(transactions=self.transactions, inbox=inbox)
        self._migrations = migrations
        self._ready_without_kafka = ready_without_kafka
        self._consumers: list[EventConsumer] = []
        self._groups: list[str] = []
        self._workers: dict[str, Worker] = {}
        if (checkpoints := checkpointer(engine)) is not None:
            self._workers["sqlite-checkpoints"] = checkpoints
        self._tasks: list[asyncio.Task[None]] = []
        self.failed: dict[str, str] = {}

    def consume(
        self, topics: list[str], group_id: str, handler: Handler, batch_handler: BatchHandler | None = None
    ) -> None:
        """Register a consumer group to run once the service starts (see EventConsumer for `batch_handler`)."""
        self._groups.append(group_id)
        self._consumers.append(
            EventConsumer(
                settings=self.settings,
                link=self.link,
                topics=topics,
                group_id=group_id,
                handler=handler,
                tracing=self.tracing,
                transactions=self.transactions,
                batch_handler=batch_handler,
            )
        )

    def run_beside(self, name: str, worker: Worker) -> None:
        """Register a background loop of the service to run once it starts, and to stop with it."""
        self._workers[name] = worker

    async def start(self) -> None:
        await self._migrate_when_reachable()
        self.tracing.start()
        self._spawn("kafka-link", self.link.connect())
        self._spawn("outbox-relay", self.relay.run())
        for index, consumer in enumerate(self._consumers):
            self._spawn(f"consumer-{index}", consumer.run())
        if self._consumers and self.settings.lag_sample_seconds > 0:
            self._workers.setdefault("lag-sampler", LagSampler(self.settings, sorted(set(self._groups))))
        for name, worker in self._workers.items():
            self._spawn(name, worker.run())
        settle(young_threshold=self.settings.gc_young_threshold, freeze=self.settings.gc_freeze_after_start)

    async def stop(self) -> None:
        """Graceful: consumers finish the record in hand and commit, the relay its batch; then close."""
        for consumer in self._consumers:
            consumer.stop()
        self.relay.stop()
        for worker in self._workers.values():
            worker.stop()
        running = [task for task in self._tasks if not task.done()]
        # Without a Kafka connection nothing can be in flight: no need to wait for anything.
        grace = self.settings.shutdown_grace_seconds if self.link.started else 0
        if running:
            _, late = await asyncio.wait(running, timeout=grace) if grace else (set(), set(running))
            for task in late:
                if grace and task.get_name() != "kafka-link":
                    log.warning("%s did not stop within %.0f s; cancelling it", task.get_name(), grace)
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self.link.close()
        await self.engine.dispose()
        await self.tracing.stop()
        log.info("stopped")

    async def _migrate_when_reachable(self) -> None:
        """Apply migrations, waiting for the database with bounded retries; give up with a clear error."""
        deadline = asyncio.get_running_loop().time() + self.settings.startup_database_timeout_seconds
        while True:
            try:
                await upgrade(self.engine, self._migrations)
                return
            except (OSError, DBAPIError) as exc:
                if asyncio.get_running_loop().time() >= deadline:
                    raise RuntimeError(
                        f"database not reachable after {self.settings.startup_database_timeout_seconds:.0f} s: {exc}"
                    ) from exc
                log.warning("database not reachable (%s); retrying in %.1f s", exc, self.settings.startup_retry_seconds)
                await asyncio.sleep(self.settings.startup_retry_seconds)

    async def readiness(self) -> dict[str, bool]:
        """Database reachable, no background task dead, and Kafka connected unless the outbox covers for it."""
        checks = {"database": await ping(self.engine), "background_tasks": not self.failed}
        if not self._ready_without_kafka:
            checks["kafka"] = self.link.connected
        return checks

    def health(self) -> dict[str, Any]:
        return {
            "kafka": {
                "bootstrap": self.settings.kafka_bootstrap,
                "connected": self.link.connected,
                "last_error": self.link.last_error,
            },
            "failed_tasks": self.failed,
        }

    def _spawn(self, name: str, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(self._on_task_done)
        self._tasks.append(task)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.failed[task.get_name()] = f"{type(error).__name__}: {error}"
            log.error("background task %s died", task.get_name(), exc_info=error)
