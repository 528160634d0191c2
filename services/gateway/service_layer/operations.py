"""What the operator dashboard shows: the health of every service and of the broker, throughput, lag, dead
letters, the decision mix and the consignments waiting longest; and the Time Release Study."""

import asyncio
import logging
import time
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiokafka.errors import KafkaError

from services.contract.database import reading
from services.contract.kafka import OffsetProbe
from services.contract.runtime import Runtime
from services.gateway.adapters import overview_store, study_store
from services.gateway.domain.release_study import Dimension, Summary, study
from services.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
WINDOWS = {"last_minute": timedelta(minutes=1), "last_15_minutes": timedelta(minutes=15)}
MIX_WINDOW = timedelta(hours=24)
WAITING_SHOWN = 10


class Operations:
    """Builds the overview on demand; the figures that cost a round trip to Kafka or to the other services
    are reused for `overview_cache_seconds`, so many open dashboards cost the same as one."""

    def __init__(self, settings: GatewaySettings, runtime: Runtime) -> None:
        self._settings = settings
        self._runtime = runtime
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def overview(self, now: datetime) -> dict[str, Any]:
        async with reading(self._runtime.engine) as connection:
            counts = {name: await overview_store.counts_since(connection, now - span) for name, span in WINDOWS.items()}
            mix = await overview_store.decision_mix(connection, now - MIX_WINDOW)
            waiting = await overview_store.waiting_longest(connection, WAITING_SHOWN)
        outside = await self._outside()
        return {
            "at": now.isoformat(),
            "services": [await self._own_health(), *outside["services"]],
            "broker": outside["broker"],
            "outbox_backlog": self._runtime.relay.last_backlog,
            "throughput": {name: asdict(value) for name, value in counts.items()},
            "lag": outside["lag"],
            "dead_letters": outside["dead_letters"],
            "decision_mix": {"hours": MIX_WINDOW.total_seconds() / 3600, "rows": [asdict(row) for row in mix]},
            "waiting_longest": [asdict(entry) | {"waiting_seconds": _since(entry.lodged_at, now)} for entry in waiting],
        }

    async def release_study(
        self, since: datetime, until: datetime, dimensions: list[Dimension]
    ) -> tuple[int, list[Summary]]:
        """(consignments read, summaries); raises study_store.TooManyConsignments for a too busy period."""
        async with reading(self._runtime.engine) as connection:
            consignments = await study_store.consignments_lodged(
                connection, since, until, limit=self._settings.release_study_max_consignments
            )
        return len(consignments), study(consignments, dimensions)

    async def _own_health(self) -> dict[str, Any]:
        checks = await self._runtime.readiness()
        return {"name": self._settings.service_name, "reachable": True, "ready": all(checks.values()), "checks": checks}

    async def _outside(self) -> dict[str, Any]:
        async with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self._settings.overview_cache_seconds:
                return self._cached[1]
            services, kafka = await asyncio.gather(self._peers(), self._kafka())
            figures = {"services": services, **kafka}
            self._cached = (time.monotonic(), figures)
            return figures

    async def _peers(self) -> list[dict[str, Any]]:
        headers = {}
        token_file = self._settings.peer_ops_token_file
        if token_file is not None:  # read each time: a rotated token counts at once
            try:
                headers["authorization"] = f"Bearer {(await asyncio.to_thread(token_file.read_text)).strip()}"
            except OSError as exc:
                log.warning("overview: peer token file %s not read (%s); asking the peers without it", token_file, exc)
        async with httpx.AsyncClient(timeout=2.0, headers=headers) as client:
            return list(
                await asyncio.gather(
                    *(self._peer(client, name, url) for name, url in sorted(self._settings.peer_health_urls.items()))
                )
            )

    @staticmethod
    async def _peer(client: httpx.AsyncClient, name: str, url: str) -> dict[str, Any]:
        try:
            response = await client.get(url)
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        except (httpx.HTTPError, ValueError) as exc:
            return {"name": name, "reachable": False, "ready": False, "error": f"{type(exc).__name__}: {exc}"}
        answered = {"name": name, "reachable": True, "status": response.status_code}
        kafka = body.get("kafka") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(kafka, dict | None):
            return answered | {"ready": False, "error": "its health answer is not the JSON object a service gives"}
        return answered | {
            "ready": response.status_code == 200 and not body.get("failed_tasks"),
            "kafka_connected": bool((kafka or {}).get("connected")),
        }

    async def _kafka(self) -> dict[str, Any]:
        link = self._runtime.health()["kafka"]
        broker = {"bootstrap": link["bootstrap"], "connected": link["connected"], "last_error": link["last_error"]}
        probe = OffsetProbe(self._settings, client_id=f"{self._settings.service_name}-overview")
        try:
            lags = await asyncio.wait_for(probe.lag(), timeout=5)
            dead = await asyncio.wait_for(probe.dead_letters(), timeout=5)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("overview: Kafka offsets not read (%s: %s)", type(exc).__name__, exc)
            return {"broker": broker | {"offsets_read": False}, "lag": [], "dead_letters": []}
        finally:
            await probe.close()
        return {
            "broker": broker | {"offsets_read": True},
            "lag": [asdict(lag) | {"behind": lag.behind} for lag in lags],
            "dead_letters": [{"topic": topic, "records": records} for topic, records in sorted(dead.items())],
        }


def _since(start: datetime, now: datetime) -> float:
    return max(0.0, (now - start).total_seconds())
