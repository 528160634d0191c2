"""End-to-end fixtures: the three services as separate processes, started once for the e2e tests."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from deploy.stack import Stack, free_port_run
from tests.e2e.api_client import GatewayClient
from tests.support.profiles import customs_environment


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Gateway, customs and phyto as `python -m` processes; topics without prefix, as in production."""
    running = Stack(
        bootstrap=kafka_bootstrap,
        state_dir=tmp_path_factory.mktemp("stack"),
        base_port=free_port_run(3),
        extra_env=customs_environment(),
    )
    running.start(timeout=120)
    yield running
    running.stop()


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[GatewayClient]:
    client = GatewayClient(stack.services[0].url)
    yield client
    await client.close()


def service_log(stack: Stack, name: str) -> Path:
    return stack.log_file(name)
