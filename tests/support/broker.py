"""Which Kafka broker the tests use: KAFKA_BOOTSTRAP, else the local broker from jars, else testcontainers."""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def test_broker() -> Iterator[str]:
    """Yield a bootstrap address; raise LookupError with the reason when no broker can be had."""
    given = os.environ.get("KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    if shutil.which("java") is not None:
        from deploy.kafka.launch import LocalKafka

        # A broker of this test session's own: fresh storage and free ports, sharing only the jar cache.
        with tempfile.TemporaryDirectory(prefix="sw-kafka-") as home:
            kafka = LocalKafka(
                home=Path(home),
                port=free_port(),
                controller_port=free_port(),
                lib_dir=REPO / ".local" / "kafka" / "lib",
            )
            with kafka:
                yield kafka.bootstrap
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    raise LookupError("no Kafka: KAFKA_BOOTSTRAP is unset, java is not installed and no Docker engine answers")
