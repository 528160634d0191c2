"""Fault tests: a broker of the test's own (it may be stopped) and the three services as processes."""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.kafka.launch import LocalKafka
from deploy.stack import Stack, free_port_run
from tests.support.broker import REPO
from tests.support.profiles import customs_environment


@pytest.fixture
def own_kafka() -> Iterator[LocalKafka]:
    with tempfile.TemporaryDirectory(prefix="sw-fault-kafka-") as home:
        port = free_port_run(2, start=32000)
        kafka = LocalKafka(
            home=Path(home), port=port, controller_port=port + 1, lib_dir=REPO / ".local" / "kafka" / "lib"
        )
        kafka.start(timeout=120)
        try:
            yield kafka
        finally:
            kafka.stop()


@pytest.fixture
def stack(own_kafka: LocalKafka, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(
        bootstrap=own_kafka.bootstrap, state_dir=tmp_path, base_port=free_port_run(3), extra_env=customs_environment()
    )
    running.start(timeout=120)
    yield running
    running.stop()
