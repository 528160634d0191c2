"""The three services started outside containers with the environment docker-compose.yml gives them.

No Docker engine here, so the containers cannot run; what can run is the same processes with the same
variables: the image's ENV overlaid with each service's compose `environment`, in a working directory of their
own (the image's WORKDIR), against PostgreSQL set up by deploy/postgres/init.sql. Only what names a container
changes: the compose host names and ports become loopback addresses (the broker, the database server, the
peers), the listening address 0.0.0.0 becomes 127.0.0.1, the HTTP ports free ones, and a file mounted into a
container its source in the repository. Each service also gets a topic prefix of this test's own, so that it
does not share topics and consumer groups with the other end-to-end tests on the same broker.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from deploy.stack import Service, Stack, free_port_run
from tests.e2e.api_client import GatewayClient
from tests.support import payloads
from tests.support.compose import REPO, Services, compose_file, environment, image_environment, mounts
from tests.support.in_process import OPERATOR_KEY

pytestmark = pytest.mark.e2e

POSTGRES_INIT = REPO / "deploy" / "postgres" / "init.sql"
SERVICES = ("gateway", "customs", "phyto")


def container_addresses(services: Services) -> dict[str, int]:
    """`name:port` of each service as the other containers reach it, from its HTTP_PORT variable."""
    return {
        name: int(environment(services[name])[f"SW_{name.upper()}_HTTP_PORT"])
        for name in SERVICES
        if f"SW_{name.upper()}_HTTP_PORT" in environment(services[name])
    }


def on_this_machine(
    name: str, services: Services, loopback: dict[str, str], ports: dict[str, int], topic_prefix: str
) -> dict[str, str]:
    """The variables of service `name`'s container, with its container addresses and mounts made local."""
    given = {
        key: value
        for key, value in (image_environment() | environment(services[name])).items()
        if key.startswith(("SW_", "PYTHON"))
    }
    mounted = {target: str((REPO / source).resolve()) for source, target, _ in mounts(services[name])}
    local = {}
    for key, value in given.items():
        for container, address in loopback.items():
            value = value.replace(container, address)
        local[key] = mounted.get(value, value)
    own = f"SW_{name.upper()}_"
    local[own + "HTTP_PORT"] = str(ports[name])
    local[own + "TOPIC_PREFIX"] = topic_prefix
    return local


@dataclass
class ComposeStack(Stack):
    """The services with the compose environment only: none of the settings the development stack adds."""

    container_environment: dict[str, dict[str, str]] = field(default_factory=dict)

    def environment(self, service: Service) -> dict[str, str]:
        machine = {key: value for key, value in os.environ.items() if not key.startswith("SW_")}
        return machine | self.container_environment[service.name] | {"PYTHONPATH": str(REPO)}


async def run_init_script(admin_url: str) -> None:
    """deploy/postgres/init.sql as the postgres image runs it on a new data directory, after removing what an
    earlier run left (a server given by POSTGRES_URL outlives the test session)."""
    connection = await asyncpg.connect(f"{admin_url}/postgres")
    try:
        for name in SERVICES:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'DROP ROLE IF EXISTS "{name}"')
        script = "\n".join(line for line in POSTGRES_INIT.read_text().splitlines() if not line.startswith("--"))
        for statement in filter(None, (part.strip() for part in script.split(";"))):
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def compose_stack(
    kafka_bootstrap: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    services = compose_file()["services"]
    database = make_url(postgres_admin_url)
    base_port = free_port_run(3, start=23000)
    ports = {name: base_port + offset for offset, name in enumerate(SERVICES)}
    loopback = {
        "kafka:9092": kafka_bootstrap,
        "postgres:5432": f"{database.host}:{database.port}",
        "0.0.0.0": "127.0.0.1",  # only loopback addresses here
    }
    loopback |= {f"{name}:{port}": f"127.0.0.1:{ports[name]}" for name, port in container_addresses(services).items()}
    prefix = f"compose{uuid.uuid4().hex[:8]}."
    asyncio.run(run_init_script(postgres_admin_url))
    workdir = tmp_path_factory.mktemp("workdir")
    stack = ComposeStack(
        bootstrap=kafka_bootstrap,
        state_dir=tmp_path_factory.mktemp("compose"),
        base_port=base_port,
        topic_prefix=prefix,
        workdir=workdir,
        container_environment={name: on_this_machine(name, services, loopback, ports, prefix) for name in SERVICES},
    )
    stack.start(timeout=120)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
async def compose_gateway(compose_stack: ComposeStack) -> AsyncIterator[GatewayClient]:
    client = GatewayClient(compose_stack.services[0].url)
    yield client
    await client.close()


def test_only_container_names_were_changed(compose_stack: ComposeStack) -> None:
    services = compose_file()["services"]
    container_only = ["kafka:9092", "postgres:5432", "0.0.0.0", "/etc/singlewindow/"]
    container_only += [f"{name}:{port}" for name, port in container_addresses(services).items()]
    for name in SERVICES:
        local = compose_stack.container_environment[name]
        given = image_environment() | environment(services[name])
        assert set(local) == {key for key in given if key.startswith(("SW_", "PYTHON"))} | {
            f"SW_{name.upper()}_TOPIC_PREFIX"
        }
        for key, value in local.items():
            assert not [address for address in container_only if address in value], f"{name}: {key}={value}"
        unchanged = {key for key in local if key in given and local[key] == given[key]}
        assert f"SW_{name.upper()}_DATABASE_URL" not in unchanged  # the database server's address was mapped
        assert {key for key in given if key.startswith("PYTHON")} <= unchanged


async def test_a_consignment_is_released_by_the_services_started_with_the_compose_environment(
    compose_stack: ComposeStack, compose_gateway: GatewayClient, postgres_admin_url: str
) -> None:
    number = payloads.certificate_number()
    declaration_id = await compose_gateway.lodge(payloads.declaration(number))  # a dev key: the mounted key file
    await compose_gateway.deliver(payloads.certificate(number))
    decided = await compose_gateway.wait_for_decisions(declaration_id, "customs", "phyto")
    [customs] = [decision for decision in decided["decisions"] if decision["agency"] == "customs"]
    if customs["outcome"] != "released":
        # The shipped risk profile sends one declaration in 40 to a control lane at random (the test profiles
        # of the other end-to-end tests draw none): here the lane, then an officer's check, releases it.
        assert customs["details"]["rules_hit"] == ["RANDOM"], customs
        await compose_gateway.inspect(declaration_id, result="release", findings="chosen at random; all in order")
    released = await compose_gateway.wait_for_status(declaration_id, "released")
    assert {standing["agency"] for standing in released["clearance"]["agencies"]} == {"customs", "phyto"}

    # Each service keeps its data in its own PostgreSQL database, as its own role, as init.sql made them.
    url = make_url(postgres_admin_url)
    for name, table in (("gateway", "declarations"), ("customs", "customs_declarations"), ("phyto", "certificates")):
        connection = await asyncpg.connect(
            host=url.host, port=url.port, user=name, password=f"{name}-dev", database=name
        )
        try:
            assert await connection.fetchval(f"SELECT count(*) FROM {table}") >= 1, name
        finally:
            await connection.close()
    # Customs made its random-selection key in its working directory, as in the container's data directory.
    assert (compose_stack.workdir / "var" / "customs-selectivity.key").is_file()


async def test_the_gateway_sees_its_peers_at_the_compose_addresses_and_publishes_its_metrics(
    compose_stack: ComposeStack,
) -> None:
    async with httpx.AsyncClient(base_url=compose_stack.services[0].url, timeout=10) as http:
        overview = await http.get("/v1/operations/overview", headers=OPERATOR_KEY)
        assert overview.status_code == 200, overview.text
        health = {service["name"]: service for service in overview.json()["services"]}
        assert {name: health[name]["ready"] for name in SERVICES} == dict.fromkeys(SERVICES, True)
        assert health["customs"]["kafka_connected"] is True
        # SW_GATEWAY_OPS_PUBLIC=true: Prometheus scrapes without a key.
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200
        assert "sw_outbox_backlog" in metrics.text
