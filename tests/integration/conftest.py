"""Integration fixtures: the services in process, on the real broker, with a fresh topic prefix per test."""

from collections.abc import AsyncIterator

import pytest

from tests.support.databases import Databases
from tests.support.in_process import System, running_system


@pytest.fixture
async def system(kafka_bootstrap: str, topic_prefix: str, database: Databases) -> AsyncIterator[System]:
    """The three services in process; each test using it runs on SQLite and on PostgreSQL."""
    async with running_system(kafka_bootstrap, topic_prefix, database) as running:
        yield running
