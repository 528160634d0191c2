"""Measures how far this service's consumer groups are behind, per partition, for /metrics."""

import asyncio
import logging
from contextlib import suppress

from aiokafka.errors import KafkaError

from services.contract.kafka import OffsetProbe
from services.contract.metrics import CONSUMER_LAG
from services.contract.settings import ServiceSettings

log = logging.getLogger(__name__)


class LagSampler:
    """Every `lag_sample_seconds`: committed offset against the end of each partition, as sw_consumer_lag.

    A failed measurement is logged once until one succeeds again; the gauges keep their last values."""

    def __init__(self, settings: ServiceSettings, groups: list[str]) -> None:
        self._settings = settings
        self._groups = groups
        self._stopping = asyncio.Event()
        self._probe: OffsetProbe | None = None
        self._failing = False

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                await self.sample()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._settings.lag_sample_seconds)
        finally:
            await self._drop_probe()

    def stop(self) -> None:
        self._stopping.set()

    async def sample(self) -> None:
        if self._probe is None:
            self._probe = OffsetProbe(self._settings, client_id=f"{self._settings.service_name}-lag-sampler")
        try:
            lags = await self._probe.lag(self._groups)
        except (KafkaError, OSError) as exc:
            if not self._failing:
                log.warning("consumer lag not measured (%s: %s); retrying", type(exc).__name__, exc)
            self._failing = True
            await self._drop_probe()
            return
        if self._failing:
            log.info("consumer lag measured again")
        self._failing = False
        for lag in lags:
            CONSUMER_LAG.labels(lag.group, lag.topic, str(lag.partition)).set(lag.behind)

    async def _drop_probe(self) -> None:
        if self._probe is not None:
            probe, self._probe = self._probe, None
            await probe.close()
