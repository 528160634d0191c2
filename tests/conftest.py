"""Fixtures shared by every test layer: the Kafka broker (once per session) and per-test isolation."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.broker import test_broker
from tests.support.databases import Databases, databases
from tests.support.independent_kafka import delete_topics
from tests.support.postgres import test_postgres


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    try:
        with test_broker() as bootstrap:
            yield bootstrap
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A topic prefix of this test's own, so tests never see each other's events; its topics go afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield prefix
    if "kafka_bootstrap" in request.fixturenames:
        delete_topics(request.getfixturevalue("kafka_bootstrap"), prefix)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    try:
        with test_postgres() as url:
            yield url
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Databases]:
    """Each test that takes this runs twice: on SQLite files and on PostgreSQL databases of its own."""
    admin_url = request.getfixturevalue("postgres_admin_url") if request.param == "postgresql" else None
    async with databases(request.param, tmp_path, admin_url) as handed_out:
        yield handed_out
