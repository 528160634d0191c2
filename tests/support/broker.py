"""Which Kafka broker the tests use: KAFKA_BOOTSTRAP, else the local broker from jars, else testcontainers."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_PORT, TEST_CONTROLLER_PORT = 29092, 29093


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

        kafka = LocalKafka(
            home=REPO / ".local" / "kafka-test",
            port=TEST_PORT,
            controller_port=TEST_CONTROLLER_PORT,
            lib_dir=REPO / ".local" / "kafka" / "lib",
        )
        kafka.start(timeout=120)
        try:
            yield kafka.bootstrap
        finally:
            kafka.stop()
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    raise LookupError("no Kafka: KAFKA_BOOTSTRAP is unset, java is not installed and no Docker engine answers")
