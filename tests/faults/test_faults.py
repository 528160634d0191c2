"""Nothing accepted is lost or decided twice through broker and service faults (bounded CI versions).

Each test runs a steady load of submissions, injects its fault once enough was accepted, and ends with
a reconciliation of what the gateway accepted against what every agency decided. Figures are printed
and appended to test-artifacts/fault-report.txt.

The full run is the same tests with more load: FAULT_RATE (submissions per second, 10 in CI),
FAULT_LOAD_SCALE (how many times longer the load runs than in CI, 1 in CI) and FAULT_RECOVERY_BOUND (seconds
after the fault within which every accepted declaration must have its final decision, 60 in CI).
"""

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from deploy.kafka.cluster import LocalKafkaCluster
from deploy.kafka.launch import LocalKafka
from deploy.stack import Stack, free_port_run
from tests.faults.load import Load, query, reconcile, report, steady_load
from tests.support import payloads
from tests.support.broker import REPO
from tests.support.in_process import NPPO_KEY
from tests.support.postgres import PostgresServer, own_postgres
from tests.support.profiles import customs_environment
from tests.support.waiting import eventually

pytestmark = pytest.mark.faults
RATE = int(os.environ.get("FAULT_RATE", "10"))  # submissions per second offered
LOAD_SCALE = float(os.environ.get("FAULT_LOAD_SCALE", "1"))
RECOVERY_BOUND = float(os.environ.get("FAULT_RECOVERY_BOUND", "60"))


def load_seconds(in_ci: float) -> float:
    """How long the load runs: the CI version's time, or that many times longer in a full run."""
    return in_ci * LOAD_SCALE


async def deliver_certificate(stack: Stack) -> str:
    number = payloads.certificate_number()
    async with httpx.AsyncClient(base_url=stack.services[0].url) as client:
        response = await client.post("/v1/certificates", json=payloads.certificate(number), headers=NPPO_KEY)
    assert response.status_code == 201
    return number


async def accepted_at_least(load: Load, count: int) -> bool:
    return len(load.accepted) >= count


async def unpublished(stack: Stack) -> int:
    rows = await query(stack.state_dir / "db" / "gateway.db", "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
    return int(str(rows[0][0]))


async def test_single_broker_stopped_for_20_s_mid_load(stack: Stack, own_kafka: LocalKafka) -> None:
    load = Load(RATE)
    running = asyncio.create_task(
        steady_load(
            load, stack.services[0].url, seconds=load_seconds(32), certificate_number=await deliver_certificate(stack)
        )
    )
    await eventually(lambda: accepted_at_least(load, 50), within=30, what="50 accepted submissions")

    await asyncio.to_thread(own_kafka.stop)
    fault_started = time.monotonic()
    accepted_before = len(load.accepted)
    backlog = await eventually(lambda: unpublished(stack), within=20, what="an outbox backlog")
    await asyncio.sleep(max(0.0, fault_started + 20 - time.monotonic()))  # the fault lasts 20 s
    accepted_during = len(load.accepted) - accepted_before
    await asyncio.to_thread(own_kafka.start, 120)
    fault_ended = time.monotonic()

    await running
    result = await reconcile(stack.state_dir, load.accepted, fault_ended=fault_ended, within=RECOVERY_BOUND)
    report(result.line("broker stopped 20 s", load) + f"; accepted while down {accepted_during}, backlog {backlog}")
    assert accepted_during > 0, "the gateway must keep accepting while Kafka is down"
    assert (result.lost, result.duplicated, result.stuck) == (0, 0, 0)


@pytest.mark.parametrize("service", ["customs", "phyto", "gateway"])
async def test_service_killed_mid_load_and_restarted(stack: Stack, service: str) -> None:
    load = Load(RATE)
    running = asyncio.create_task(
        steady_load(
            load, stack.services[0].url, seconds=load_seconds(18), certificate_number=await deliver_certificate(stack)
        )
    )
    await eventually(lambda: accepted_at_least(load, 40), within=30, what="40 accepted submissions")

    stack.kill(service)
    down_since, accepted_before = time.monotonic(), len(load.accepted)
    await asyncio.sleep(max(0.0, down_since + 5 - time.monotonic()))  # down for 5 s
    accepted_during = len(load.accepted) - accepted_before
    await asyncio.to_thread(stack.start_service, service)
    fault_ended = time.monotonic()

    await running
    result = await reconcile(stack.state_dir, load.accepted, fault_ended=fault_ended, within=RECOVERY_BOUND)
    report(result.line(f"{service} killed (-9) for 5 s", load) + f"; accepted while down {accepted_during}")
    if service == "gateway":
        assert accepted_during == 0
        assert sum(load.refused.values()) > 0, "submissions must have failed while the gateway was down"
    else:
        assert accepted_during > 0, f"the load must go on while {service} is down"
    assert (result.lost, result.duplicated, result.stuck) == (0, 0, 0)


async def test_one_of_two_customs_instances_killed_its_partitions_move_and_nothing_is_lost(stack: Stack) -> None:
    second = await asyncio.to_thread(stack.start_instance, "customs", "b", free_port_run(1, start=33000))
    load = Load(RATE)
    running = asyncio.create_task(
        steady_load(
            load, stack.services[0].url, seconds=load_seconds(18), certificate_number=await deliver_certificate(stack)
        )
    )
    await eventually(lambda: accepted_at_least(load, 40), within=30, what="40 accepted submissions")
    takeovers_before = assignments(stack, second)

    stack.kill("customs")
    killed_at = time.monotonic()
    await eventually(
        lambda: asyncio.to_thread(lambda: assignments(stack, second) > takeovers_before),
        within=60,
        what="the surviving customs instance to be assigned the partitions",
    )
    rebalance_seconds = time.monotonic() - killed_at

    await running
    result = await reconcile(stack.state_dir, load.accepted, fault_ended=killed_at, within=RECOVERY_BOUND)
    report(result.line("one of two customs instances killed (-9)", load) + f"; rebalanced in {rebalance_seconds:.1f} s")
    assert (result.lost, result.duplicated, result.stuck) == (0, 0, 0)


def assignments(stack: Stack, instance: str) -> int:
    """How many times this instance logged a partition assignment (each rebalance logs one)."""
    return sum("partitions assigned:" in line for line in stack.log_file(instance).read_text().splitlines())


@pytest.fixture
def gateway_postgres() -> Iterator[PostgresServer]:
    try:
        with own_postgres() as server:
            yield server
    except LookupError as exc:
        pytest.skip(str(exc))


async def test_the_gateways_postgresql_stopped_for_10_s(
    own_kafka: LocalKafka, gateway_postgres: PostgresServer, tmp_path: Path
) -> None:
    admin = await asyncpg.connect(f"{gateway_postgres.admin_url}/postgres")
    await admin.execute("CREATE DATABASE gateway")
    await admin.close()
    database = f"{gateway_postgres.admin_url}/gateway"
    stack = Stack(
        bootstrap=own_kafka.bootstrap,
        state_dir=tmp_path,
        base_port=free_port_run(3),
        extra_env={
            "SW_GATEWAY_DATABASE_URL": database.replace("postgresql://", "postgresql+asyncpg://"),
            **customs_environment(),
        },
    )
    await asyncio.to_thread(stack.start, 120)
    try:
        load = Load(RATE)
        running = asyncio.create_task(
            steady_load(
                load,
                stack.services[0].url,
                seconds=load_seconds(25),
                certificate_number=await deliver_certificate(stack),
            )
        )
        await eventually(lambda: accepted_at_least(load, 40), within=30, what="40 accepted submissions")

        await asyncio.to_thread(gateway_postgres.stop)
        down_since = time.monotonic()
        await eventually(lambda: refused_with(load, "503"), within=15, what="503 answers while the database is down")
        await asyncio.sleep(max(0.0, down_since + 10 - time.monotonic()))  # the database is down 10 s
        await asyncio.to_thread(gateway_postgres.start)
        fault_ended = time.monotonic()

        await running
        result = await reconcile(
            stack.state_dir, load.accepted, fault_ended=fault_ended, within=RECOVERY_BOUND, gateway_database=database
        )
    finally:
        await asyncio.to_thread(stack.stop)
    report(result.line("gateway PostgreSQL stopped 10 s", load))
    assert set(load.refused) <= {"503"}, f"while the database was down, answers other than 503: {load.refused}"
    assert (result.lost, result.duplicated, result.stuck) == (0, 0, 0)


async def refused_with(load: Load, status: str) -> bool:
    return load.refused.get(status, 0) > 0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalKafkaCluster]:
    with LocalKafkaCluster(tmp_path / "cluster", lib_dir=REPO / ".local" / "kafka" / "lib") as running:
        yield running


async def test_one_broker_of_three_killed_mid_load(cluster: LocalKafkaCluster, tmp_path: Path) -> None:
    replicated = {f"SW_{service}_TOPIC_REPLICATION": "3" for service in ("GATEWAY", "CUSTOMS", "PHYTO")}
    stack = Stack(
        bootstrap=cluster.bootstrap,
        state_dir=tmp_path / "stack",
        base_port=free_port_run(3),
        extra_env=replicated | customs_environment(),
    )
    await asyncio.to_thread(stack.start, 120)
    try:
        load = Load(RATE)
        running = asyncio.create_task(
            steady_load(
                load,
                stack.services[0].url,
                seconds=load_seconds(25),
                certificate_number=await deliver_certificate(stack),
            )
        )
        await eventually(lambda: accepted_at_least(load, 40), within=30, what="40 accepted submissions")
        declarations = await asyncio.to_thread(cluster.topic_state, "declarations")
        assert declarations is not None
        assert all(len(state.replicas) == 3 for state in declarations.values())
        victim = cluster.node_index(declarations[0].leader)  # the leader of a partition the load writes to

        cluster.kill(victim)
        killed_at = time.monotonic()
        await asyncio.to_thread(cluster.wait_for_brokers, None, 60)  # the survivors fenced it
        fenced_seconds = time.monotonic() - killed_at

        await running
        result = await reconcile(stack.state_dir, load.accepted, fault_ended=killed_at, within=RECOVERY_BOUND)
    finally:
        await asyncio.to_thread(stack.stop)
    report(result.line("one broker of three killed (-9)", load) + f"; fenced in {fenced_seconds:.1f} s")
    assert (result.lost, result.duplicated, result.stuck) == (0, 0, 0)
