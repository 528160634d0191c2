"""End-to-end check of deploy/kafka/launch.py against a real Kafka broker.

Starts a private broker (temp state dir, free ports) that shares the repo's jar
cache, creates a topic with aiokafka's admin client, produces with aiokafka
(acks=all, idempotent) and reads the record back with confluent-kafka, an
independent client implementation. Then stops the broker and checks it is gone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_LIB = REPO_ROOT / ".local" / "kafka" / "lib"


def _launch_module() -> ModuleType:
    """Import deploy.kafka.launch even when pytest runs from outside the repo."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from deploy.kafka import launch

    return launch


def _free_port_pair() -> tuple[int, int]:
    """Two distinct currently-free loopback ports (not the 19092/19093 defaults)."""
    socks: list[socket.socket] = []
    try:
        while len(socks) < 2:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] in (19092, 19093):
                s.close()
                continue
            socks.append(s)
        return socks[0].getsockname()[1], socks[1].getsockname()[1]
    finally:
        for s in socks:
            s.close()


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


async def _create_and_produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)])
        deadline = time.monotonic() + 20
        while topic not in await admin.list_topics():
            assert time.monotonic() < deadline, f"topic {topic} never appeared"
            await asyncio.sleep(0.1)
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        meta = await asyncio.wait_for(producer.send_and_wait(topic, value, key=key), timeout=20)
    finally:
        await producer.stop()
    return meta.offset


def _consume_one(bootstrap: str, topic: str, timeout: float = 30.0):
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"it-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            consumer.commit(message=msg, asynchronous=False)
            return msg
        raise AssertionError(f"no record on {topic} within {timeout}s")
    finally:
        consumer.close()


@pytest.mark.integration
def test_local_kafka_roundtrip(tmp_path: Path) -> None:
    pytest.importorskip("aiokafka")
    pytest.importorskip("confluent_kafka")
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    if shutil.which("mvn") is None and not any(SHARED_LIB.glob("kafka_2.13-*.jar")):
        pytest.skip("neither Maven nor cached Kafka jars are available")

    launch = _launch_module()
    port, controller_port = _free_port_pair()
    kafka = launch.LocalKafka(
        home=tmp_path / "kafka",
        port=port,
        controller_port=controller_port,
        heap="384m",
        lib_dir=SHARED_LIB,
    )
    assert kafka.bootstrap == f"127.0.0.1:{port}"
    assert not kafka.is_ready()

    try:
        kafka.start(timeout=120)
        assert kafka.is_running()
        assert kafka.is_ready()
        pid = kafka.pid
        assert pid is not None

        topic = f"it-local-kafka-{uuid.uuid4().hex[:8]}"
        key, value = b"declaration-1", b'{"status": "lodged"}'
        offset = asyncio.run(_create_and_produce(kafka.bootstrap, topic, key, value))
        assert offset == 0

        msg = _consume_one(kafka.bootstrap, topic)
        assert (msg.topic(), msg.offset(), msg.key(), msg.value()) == (
            topic,
            0,
            key,
            value,
        )

        # A second handle on the same home adopts the running broker, not a new one.
        again = launch.LocalKafka(
            home=tmp_path / "kafka",
            port=port,
            controller_port=controller_port,
            lib_dir=SHARED_LIB,
        )
        again.start(timeout=10)
        assert again.pid == pid
    finally:
        kafka.stop()

    assert _pid_gone(pid), f"broker pid {pid} still alive after stop()"
    assert not kafka.is_running()
    assert not kafka.pid_file.exists()
    assert not launch.kafka_ready("127.0.0.1", port, timeout=1.0)
    kafka.stop()  # idempotent
