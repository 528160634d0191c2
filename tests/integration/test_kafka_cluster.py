"""End-to-end check of deploy/kafka/cluster.py: a three-node KRaft cluster survives a kill -9.

Starts a private three-node cluster (temp state dir, free ports, the repo's jar cache), creates a
topic with 3 partitions and replication factor 3 (aiokafka admin), produces 200 records (aiokafka,
acks=all, idempotent), kill -9s the leader of partition 0 and produces 200 more, which must succeed
with the two in-sync replicas left (min.insync.replicas=2). Reads everything back with
confluent-kafka, an independent client, and checks that nothing was lost or duplicated. Then
restarts the killed node, checks that it rejoins and catches up, stops the cluster and checks that
no JVM of it is left. Waits are on conditions with deadlines; figures are printed (pytest -s).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from deploy.kafka.cluster import LocalKafkaCluster, PartitionState

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_LIB = REPO_ROOT / ".local" / "kafka" / "lib"
PARTITIONS = 3
BATCH = 200
T = TypeVar("T")

pytestmark = pytest.mark.integration


def _cluster_jvms(home: Path) -> list[int]:
    """Pids of live (non-zombie) processes whose command line mentions the cluster's home."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(home) in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def _rss_mb(pid: int | None, field: str = "VmRSS:") -> int:
    """Resident memory of a process in MiB (``VmHWM:`` for its peak so far)."""
    if pid is None:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    return 0


def _eventually(probe: Callable[[], T | None], within: float, what: str) -> T:
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}; last value: {last!r}")


def _leading(state: dict[int, PartitionState] | None, leader: int) -> dict[int, PartitionState] | None:
    return state if state and state[0].leader == leader else None


def _shrunk(state: dict[int, PartitionState] | None, dead: int) -> dict[int, PartitionState] | None:
    """The state once no ISR holds the dead node any more and each partition has two in-sync replicas."""
    if state and all(dead not in p.isr and len(p.isr) == 2 for p in state.values()):
        return state
    return None


async def _until(probe: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}; last value: {last!r}")


async def _create_topic(bootstrap: str, topic: str) -> dict[int, dict[str, Any]]:
    """Create the topic; wait until every partition has a leader and three in-sync replicas."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=3)])

        async def settled() -> dict[int, dict[str, Any]] | None:
            described = [t for t in await admin.describe_topics([topic]) if t["topic"] == topic]
            if not described or described[0]["error_code"] != 0:
                return None
            parts = {p["partition"]: p for p in described[0]["partitions"]}
            ok = len(parts) == PARTITIONS and all(p["leader"] >= 0 and len(p["isr"]) == 3 for p in parts.values())
            return parts if ok else None

        parts: dict[int, dict[str, Any]] = await _until(settled, 30, f"topic {topic} fully in sync")
        return parts
    finally:
        await admin.close()


async def _produce(producer: Any, topic: str, numbers: range) -> None:
    futures = [await producer.send(topic, f"r-{i:03d}".encode(), key=f"k-{i}".encode()) for i in numbers]
    metas = await asyncio.wait_for(asyncio.gather(*futures), timeout=60)
    assert len(metas) == len(numbers)


async def _load_with_kill(cluster: LocalKafkaCluster, topic: str, victim: int) -> dict[str, float]:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await _produce(producer, topic, range(BATCH))
        survivors = {cluster.node_id(i) for i in range(cluster.size) if i != victim}
        t0 = time.monotonic()
        await asyncio.to_thread(cluster.kill, victim)
        # Keep producing at once, while the survivors are still to notice the dead node.
        fenced, _ = await asyncio.gather(
            asyncio.to_thread(cluster.wait_for_brokers, survivors, 30),
            _produce(producer, topic, range(BATCH, 2 * BATCH)),
        )
        return {"fenced": fenced + 0.0, "produced_after_kill": time.monotonic() - t0}
    finally:
        await producer.stop()


def _consume_all(bootstrap: str, topic: str, expected: int, within: float = 30.0) -> list[str]:
    """Every value on the topic, read with confluent-kafka from the beginning of each partition (no group)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"it-{topic}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    values: list[str] = []
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        deadline = time.monotonic() + within
        while len(values) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                assert msg.error() is None, msg.error()
                values.append(bytes(msg.value() or b"").decode())
        # Anything past `expected` would be a duplicate: give it a moment to show up.
        extra = consumer.consume(num_messages=500, timeout=1.0)
        values += [bytes(m.value() or b"").decode() for m in extra if m.error() is None]
    finally:
        consumer.close()
    return values


def test_three_node_cluster_survives_kill_9_of_a_leader(tmp_path: Path) -> None:
    pytest.importorskip("aiokafka")
    pytest.importorskip("confluent_kafka")
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    if shutil.which("mvn") is None and not any(SHARED_LIB.glob("kafka_2.13-*.jar")):
        pytest.skip("neither Maven nor cached Kafka jars are available")

    cluster = LocalKafkaCluster(tmp_path / "cluster", lib_dir=SHARED_LIB)
    home = cluster.home
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{p}" for p in cluster.ports)
    assert cluster.node_bootstrap(1) == f"127.0.0.1:{cluster.ports[1]}"
    figures: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        cluster.start(timeout=120)
        figures["start_to_ready"] = time.monotonic() - t0
        for i in range(3):
            assert cluster.live_brokers(i) == {1, 2, 3}, f"node {i} sees {cluster.live_brokers(i)}"
        rss = [_rss_mb(cluster.pid(i)) for i in range(3)]

        topic = f"it-cluster-{uuid.uuid4().hex[:8]}"
        partitions = asyncio.run(_create_topic(cluster.bootstrap, topic))
        leader = int(partitions[0]["leader"])
        # The launcher's own metadata probe agrees with aiokafka about who leads partition 0.
        state = _eventually(lambda: _leading(cluster.topic_state(topic), leader), 10, f"node.id {leader} leading")
        assert sorted(state[0].replicas) == [1, 2, 3]
        victim = cluster.node_index(leader)

        figures |= asyncio.run(_load_with_kill(cluster, topic, victim))
        assert not cluster.is_running(victim)
        for i in range(3):
            if i != victim:
                assert cluster.live_brokers(i) == {1, 2, 3} - {leader}
        moved = _eventually(lambda: _shrunk(cluster.topic_state(topic), leader), 10, f"ISRs without {leader}")
        assert moved[0].leader not in (-1, leader), "partition 0 has no new leader"

        values = _consume_all(cluster.bootstrap, topic, expected=2 * BATCH)
        wanted = {f"r-{i:03d}" for i in range(2 * BATCH)}
        assert not wanted - set(values), f"lost {len(wanted - set(values))} records"
        assert len(values) == len(set(values)) == 2 * BATCH, f"{len(values) - len(set(values))} duplicates"

        t0 = time.monotonic()
        cluster.restart(victim, timeout=60)
        figures["restart_to_rejoin"] = time.monotonic() - t0
        for i in range(3):
            assert cluster.live_brokers(i) == {1, 2, 3}, f"node {i} sees {cluster.live_brokers(i)}"
        figures["rejoin_to_in_sync"] = cluster.wait_fully_replicated(timeout=30)
        assert cluster.under_replicated() == []
        pids = [cluster.pid(i) for i in range(3)]
        assert all(pids)
        peak = [_rss_mb(pid, "VmHWM:") for pid in pids]
    finally:
        t0 = time.monotonic()
        cluster.stop()
        figures["stop"] = time.monotonic() - t0

    assert _cluster_jvms(home) == [], "a JVM of the cluster is still running after stop()"
    assert all(cluster.pid(i) is None for i in range(3))
    sys.stdout.write(
        "\nkafka cluster: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in figures.items())
        + f"; RSS after start {rss} MiB, peak {peak} MiB; killed node.id {leader} (leader of partition 0)\n"
    )
