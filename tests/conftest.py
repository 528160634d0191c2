"""Fixtures shared by every test layer: the Kafka broker (once per session) and per-test isolation."""

import uuid
from collections.abc import Iterator

import pytest

from tests.support.broker import test_broker
from tests.support.independent_kafka import delete_topics


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
