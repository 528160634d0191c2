"""Kafka with SASL/SCRAM over TLS: the three services work through it, anyone else is refused, no secret is logged."""

import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from aiokafka.helpers import create_ssl_context

from deploy.kafka.secured import SecuredKafka
from services.contract.kafka import connection
from services.gateway.adapters.audit_anchors import published_anchors
from services.gateway.settings import GatewaySettings
from tests.integration.test_flow import submit_declaration, wait_for_status
from tests.support import payloads
from tests.support.broker import REPO, free_port
from tests.support.databases import Databases, databases
from tests.support.in_process import NPPO_KEY, System, running_system
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    missing = [tool for tool in ("java", "openssl") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"a secured local broker needs {' and '.join(missing)} on PATH")
    home = tmp_path_factory.mktemp("secured-kafka")
    with SecuredKafka(home, free_port(), free_port(), lib_dir=REPO / ".local" / "kafka" / "lib") as kafka:
        yield kafka


@pytest.fixture
async def sqlite_files(tmp_path: Path) -> AsyncIterator[Databases]:
    async with databases("sqlite", tmp_path, None) as handed_out:
        yield handed_out


async def refusal(**client: Any) -> KafkaConnectionError:
    """What a client with these options gets from the secured broker (it must not get in)."""
    admin = AIOKafkaAdminClient(request_timeout_ms=5000, **client)
    try:
        with pytest.raises(KafkaConnectionError) as refused:
            await admin.start()
    finally:
        await admin.close()
    return refused.value


async def test_the_services_work_through_scram_over_tls_and_log_no_secret(
    secured_kafka: SecuredKafka, sqlite_files: Databases, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services")
    async with running_system(
        secured_kafka.bootstrap, "secured.", sqlite_files, connect_as=secured_kafka.client_settings
    ) as system:
        number = payloads.certificate_number()
        certificate = await system.client.post("/v1/certificates", json=payloads.certificate(number), headers=NPPO_KEY)
        assert certificate.status_code == 201, certificate.text
        declaration_id = await submit_declaration(system, payloads.declaration(number))
        released = await wait_for_status(system, declaration_id, "released")
        assert {d["agency"] for d in released["decisions"]} == {"customs", "phyto"}

        settings = system.gateway.runtime.settings
        assert settings.kafka_sasl_username == "gateway"
        anchors = await eventually(lambda: published_anchors(settings), within=30, what="an audit anchor over SASL_SSL")
        assert anchors[-1].position >= 1
        assert_no_secret_shown(system, secured_kafka, [record.getMessage() for record in caplog.records])


def assert_no_secret_shown(system: System, kafka: SecuredKafka, logged: list[str]) -> None:
    assert any("connected to Kafka" in line for line in logged)  # the capture did see the services' logs
    for service in ("gateway", "customs", "phyto"):
        password = kafka.password(service)
        assert not [line for line in logged if password in line], f"{service}'s password was logged"
        for runtime in (system.gateway.runtime, system.customs.runtime, system.phyto.runtime):
            assert password not in repr(runtime.settings)
    given = GatewaySettings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u", kafka_sasl_password="hunter2")
    assert "hunter2" not in repr(given)
    assert "hunter2" not in str(given.model_dump())
    assert connection(given)["sasl_plain_password"] == "hunter2"


async def test_a_client_without_valid_credentials_is_refused(
    secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="aiokafka")
    trusted = create_ssl_context(cafile=str(secured_kafka.ca_file))
    address = {"bootstrap_servers": secured_kafka.bootstrap}
    scram = {"security_protocol": "SASL_SSL", "ssl_context": trusted, "sasl_mechanism": "SCRAM-SHA-512"}

    await refusal(**address)  # PLAINTEXT: the broker has no plaintext client listener
    await refusal(**address, security_protocol="SSL", ssl_context=trusted)  # TLS but no SASL
    caplog.clear()
    await refusal(**address, **scram, sasl_plain_username="gateway", sasl_plain_password="not-the-password")
    assert "SaslAuthenticationFailed" in caplog.text
    caplog.clear()
    await refusal(**address, **scram, sasl_plain_username="stranger", sasl_plain_password="whatever")
    assert "SaslAuthenticationFailed" in caplog.text
    caplog.clear()
    untrusted = create_ssl_context()  # the system's CAs: our broker's certificate does not chain to them
    right = {"sasl_plain_username": "gateway", "sasl_plain_password": secured_kafka.password("gateway")}
    await refusal(**address, **(scram | {"ssl_context": untrusted}), **right)
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text

    admin = AIOKafkaAdminClient(**address, **scram, **right)  # the same client with everything right gets in
    await admin.start()
    try:
        assert isinstance(await admin.list_topics(), list)
    finally:
        await admin.close()
