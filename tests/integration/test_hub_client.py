"""The gateway pulling certificates from an ePhyto Hub (the fake one on loopback, built from the Hub's WSDL), on the
real broker and database: stored and published before acknowledged, redeliveries acknowledged without change, bad
envelopes reported and kept, Hub failures survived, and one of two gateway instances pulling at a time."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from services.contract.events import CertificateReceived
from services.contract.replay import replay
from services.gateway.adapters import orm
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings
from tests.support.databases import Databases
from tests.support.fake_hub import FakeHub, Tracking, Trouble, fake_hub
from tests.support.in_process import common_settings
from tests.support.independent_kafka import Record, read_until
from tests.support.waiting import eventually
from tests.unit.test_ephyto_xml import ROSES, sample

pytestmark = pytest.mark.integration
HUB_POLLING: dict[str, Any] = {
    "hub_poll_seconds": 0.1,
    "hub_retry_max_seconds": 0.4,
    "hub_timeout_seconds": 1.0,
    "relay_lease_seconds": 3,
}


@pytest.fixture
def hub() -> Any:
    with fake_hub() as running:
        yield running


@asynccontextmanager
async def gateway_on(
    kafka_bootstrap: str, topic_prefix: str, database_url: str, hub_url: str
) -> AsyncIterator[Gateway]:
    """A gateway instance (no HTTP traffic needed) polling the Hub at `hub_url`."""
    settings = GatewaySettings(
        database_url=database_url, hub_url=hub_url, **common_settings(kafka_bootstrap, topic_prefix), **HUB_POLLING
    )
    gateway = bootstrap(settings)
    app = create_app(gateway)
    async with app.router.lifespan_context(app):

        async def connected() -> bool:
            return gateway.runtime.link.connected

        await eventually(connected, within=60, what="the gateway to connect to Kafka")
        yield gateway
        assert gateway.runtime.failed == {}, "a background task of the gateway died"


@pytest.fixture
async def gateway(kafka_bootstrap: str, topic_prefix: str, database: Databases, hub: FakeHub) -> AsyncIterator[Gateway]:
    async with gateway_on(kafka_bootstrap, topic_prefix, await database.url("gateway"), hub.url) as running:
        yield running


def roses(number: str) -> bytes:
    return ROSES.replace("NL-2026-000123", number).encode()


def queue_roses(hub: FakeHub, number: str, **given: Any) -> str:
    return hub.queue(roses(number), from_country="NL", to_country="GB", nppo_certificate_number=number, **given)


async def certificates_stored(gateway: Gateway) -> list[Any]:
    async with gateway.runtime.engine.connect() as connection:
        return list((await connection.execute(select(orm.certificates).order_by(orm.certificates.c.number))).all())


async def outbox_rows(gateway: Gateway, topic: str) -> int:
    table = orm.messaging.outbox
    async with gateway.runtime.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table).where(table.c.topic == topic)) or 0)


def proof_of_storage(gateway: Gateway) -> Callable[[str], bool]:
    """For the fake Hub to call as an acknowledgement arrives: is the certificate of that delivery committed?"""
    loop = asyncio.get_running_loop()

    async def stored(number: str) -> bool:
        table = orm.certificates
        async with gateway.runtime.engine.connect() as connection:
            found = await connection.scalar(select(table.c.id).where(table.c.hub_delivery_number == number))
        return found is not None

    def check(number: str) -> bool:
        return asyncio.run_coroutine_threadsafe(stored(number), loop).result(timeout=10)

    return check


async def acknowledged(hub: FakeHub, *numbers: str) -> bool:
    return set(numbers) <= set(hub.acknowledged)


def received_numbers(records: list[Record]) -> list[str]:
    return [
        r.payload["certificate"]["number"]
        for r in records
        if r.headers.get("ce_type") == CertificateReceived.type_name()
    ]


def hub_envelopes(outcome: str) -> float:
    return REGISTRY.get_sample_value("sw_hub_envelopes_total", {"outcome": outcome}) or 0.0


async def test_waiting_envelopes_are_stored_published_and_acknowledged_only_after_storage(
    hub: FakeHub, kafka_bootstrap: str, topic_prefix: str, database: Databases
) -> None:
    real = sample("SPSCertificateContent.xml")
    acknowledged_before = hub_envelopes("acknowledged")
    async with gateway_on(kafka_bootstrap, topic_prefix, await database.url("gateway"), hub.url) as gateway:
        hub.on_acknowledge = proof_of_storage(gateway)
        numbers = [
            hub.queue(real, from_country="AR", to_country="EC", nppo_certificate_number="123ABC"),
            queue_roses(hub, "NL-HUB-1"),
            queue_roses(hub, "NL-HUB-2"),
        ]
        await eventually(lambda: acknowledged(hub, *numbers), what="the Hub to see three acknowledgements")

        assert hub.evidence == {number: [True] for number in numbers}, "acknowledged before the row was committed"
        stored = await certificates_stored(gateway)
        assert [(row.issuing_country, row.number) for row in stored] == [
            ("AR", "123ABC"),
            ("NL", "NL-HUB-1"),
            ("NL", "NL-HUB-2"),
        ]
        assert sorted(row.hub_delivery_number for row in stored) == sorted(numbers)
        assert stored[0].document == real.strip()  # the claim check keeps the certificate as delivered
        assert hub.waiting() == []
        assert hub_envelopes("acknowledged") - acknowledged_before == 3

        records = await asyncio.to_thread(
            read_until,
            kafka_bootstrap,
            f"{topic_prefix}certificates",
            lambda records: len(received_numbers(records)) >= 3,
        )
        assert sorted(received_numbers(records)) == ["123ABC", "NL-HUB-1", "NL-HUB-2"]


async def test_a_redelivered_envelope_is_acknowledged_and_changes_nothing(hub: FakeHub, gateway: Gateway) -> None:
    first = queue_roses(hub, "NL-HUB-10")
    await eventually(lambda: acknowledged(hub, first), what="the first delivery to be acknowledged")
    stored, events = (
        await certificates_stored(gateway),
        await outbox_rows(gateway, f"{gateway.settings.topic_prefix}certificates"),
    )

    hub.offer_again(first)  # the same hubDeliveryNumber
    again = queue_roses(hub, "NL-HUB-10")  # the same certificate under a new hubDeliveryNumber

    async def both_acknowledged() -> bool:
        return hub.acknowledged.count(first) == 2 and again in hub.acknowledged

    await eventually(both_acknowledged, what="both redeliveries acknowledged")

    assert await certificates_stored(gateway) == stored
    assert await outbox_rows(gateway, f"{gateway.settings.topic_prefix}certificates") == events
    assert hub.failures == []


async def test_a_bad_envelope_is_reported_failed_with_its_reason_and_kept(
    hub: FakeHub, gateway: Gateway, kafka_bootstrap: str
) -> None:
    unbound = roses("NL-HUB-20").replace(b"<rsm:SPSCertificate xmlns:rsm=", b"<rsm:SPSCertificate xmlns:rsx=")
    bad = hub.queue(unbound, from_country="NL", to_country="GB", nppo_certificate_number="NL-HUB-20")
    good = queue_roses(hub, "NL-HUB-21")
    failed_before = hub_envelopes("failed")

    async def reported() -> bool:
        return bool(hub.failures) and good in hub.acknowledged

    await eventually(reported, what="the bad envelope reported failed and the good one acknowledged")

    [(number, message)] = hub.failures
    assert number == bad
    assert "unbound prefix 'rsm'" in message
    assert hub.tracking(bad) is Tracking.FAILED
    assert [row.number for row in await certificates_stored(gateway)] == ["NL-HUB-21"]
    assert hub_envelopes("failed") - failed_before == 1

    dead_letters = f"{gateway.settings.topic_prefix}certificates.dlq"
    records = await asyncio.to_thread(read_until, kafka_bootstrap, dead_letters, lambda records: len(records) >= 1)
    [kept] = records
    assert kept.key == bad
    assert "unbound prefix 'rsm'" in kept.headers["dlq_reason"]
    assert kept.headers["dlq_source"] == "ephyto-hub"
    assert kept.headers["dlq_original_topic"] == f"{gateway.settings.topic_prefix}certificates"
    assert kept.headers["dlq_correlation_id"]
    pulled = hub.calls_of("PULLSingleImportEnvelope")[0].answer
    assert kept.value == pulled  # the envelope exactly as the Hub answered it
    assert await outbox_rows(gateway, dead_letters) == 1  # and kept in the gateway's database too
    # Not an event: the operator's replay leaves it where it is rather than put a raw envelope on the topic.
    assert await replay(gateway.settings, dead_letters) == 0


async def test_the_hub_failing_loses_nothing_and_a_later_poll_succeeds(hub: FakeHub, gateway: Gateway) -> None:
    hub.on_acknowledge = proof_of_storage(gateway)
    hub.inject("GetImportEnvelopeHeaders", Trouble.FAULT)
    hub.inject("GetImportEnvelopeHeaders", Trouble.SLOW, delay=1.5)  # past the client's 1 s timeout
    hub.inject("PULLSingleImportEnvelope", Trouble.SERVER_ERROR)
    hub.inject("AcknowledgeEnvelopeReceipt", Trouble.DROP)  # stored, but the acknowledgement never arrives
    number = queue_roses(hub, "NL-HUB-30")

    await eventually(lambda: acknowledged(hub, number), what="the envelope acknowledged once the Hub recovers")

    assert [row.number for row in await certificates_stored(gateway)] == ["NL-HUB-30"]
    assert hub.evidence == {number: [True]}
    assert [call.status for call in hub.calls_of("AcknowledgeEnvelopeReceipt")] == [0, 200]  # dropped, then taken
    assert hub.calls_of("PULLSingleImportEnvelope")[0].status == 500
    assert 500 in [call.status for call in hub.calls_of("GetImportEnvelopeHeaders")]  # the fault
    assert hub.failures == []
    assert gateway.runtime.failed == {}


async def test_two_gateway_instances_polling_one_hub_store_each_certificate_once(
    hub: FakeHub, kafka_bootstrap: str, topic_prefix: str, database: Databases
) -> None:
    url = await database.url("gateway")
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(gateway_on(kafka_bootstrap, topic_prefix, url, hub.url))
        await stack.enter_async_context(gateway_on(kafka_bootstrap, topic_prefix, url, hub.url))
        numbers = [queue_roses(hub, f"NL-HUB-4{index}") for index in range(6)]
        await eventually(lambda: acknowledged(hub, *numbers), what="every envelope acknowledged")

        assert len(await certificates_stored(first)) == 6
        assert await outbox_rows(first, f"{topic_prefix}certificates") == 6
        pulls = [call.request for call in hub.calls_of("PULLSingleImportEnvelope")]
        assert len(pulls) == 6, "an envelope was pulled by both instances"
