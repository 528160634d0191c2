"""Integration fixtures: the services in process, on the real broker, with a fresh topic prefix per test."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.in_process import System, running_system


@pytest.fixture
async def system(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> AsyncIterator[System]:
    async with running_system(kafka_bootstrap, topic_prefix, tmp_path) as running:
        yield running
