"""Consumers on the real broker: redeliveries change nothing, poison goes to dead letters with its reason."""

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from services.contract.cloudevents import Envelope
from services.contract.events import AgencyDecisionMade, Outcome
from services.contract.replay import replay
from services.gateway.adapters.orm import agency_decisions, outbox, timeline
from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings
from tests.support import payloads
from tests.support.databases import Databases
from tests.support.in_process import DEV_KEYS, TRADER_KEY, System, common_settings
from tests.support.independent_kafka import produce, read_until
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def decision(declaration_id: str, sequence: int, outcome: Outcome = Outcome.RELEASED) -> Envelope:
    made = AgencyDecisionMade(
        agency="customs",
        declaration_id=declaration_id,
        declaration_version=1,
        sequence=sequence,
        outcome=outcome,
        rules_version="test",
        decided_at=datetime.now(UTC),
    )
    return Envelope(data=made, source="test-agency", correlation_id="test-correlation")


async def send(system: System, topic: str, envelope: Envelope) -> None:
    await asyncio.to_thread(
        produce,
        system.bootstrap,
        system.topic(topic),
        key=envelope.key(),
        value=envelope.value(),
        headers=list(envelope.headers()),
    )


async def recorded(system: System, event_id: str) -> int:
    async with system.gateway.runtime.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(agency_decisions).where(agency_decisions.c.event_id == event_id)
        )
    return int(count or 0)


async def test_a_redelivered_decision_is_recorded_once(system: System) -> None:
    laptops = payloads.declaration(None)
    laptops["goods_items"][0] |= {"commodity_code": "84713000", "description": "Laptops"}
    response = await system.client.post("/v1/declarations", json=laptops, headers=TRADER_KEY)
    declaration_id = response.json()["id"]
    await eventually(lambda: recorded_any(system, declaration_id), within=30, what="the customs decision")

    duplicate = decision(declaration_id, sequence=7)
    await send(system, "decisions", duplicate)
    await send(system, "decisions", duplicate)
    marker = decision(declaration_id, sequence=8)
    await send(system, "decisions", marker)  # same key, same partition: processed after both copies

    await eventually(lambda: recorded(system, marker.id), within=30, what="the marker decision")
    assert await recorded(system, duplicate.id) == 1
    async with system.gateway.runtime.engine.connect() as connection:
        entries = await connection.scalar(
            select(func.count())
            .select_from(timeline)
            .where(timeline.c.declaration_id == declaration_id, timeline.c.kind == "agency_decision")
        )
    assert entries == 3  # the real customs decision, the duplicate once, the marker


async def recorded_any(system: System, declaration_id: str) -> bool:
    async with system.gateway.runtime.engine.connect() as connection:
        found = await connection.scalar(
            select(agency_decisions.c.event_id).where(agency_decisions.c.declaration_id == declaration_id)
        )
    return found is not None


async def test_unreadable_records_go_to_the_dead_letter_topic_with_reason_and_origin(system: System) -> None:
    await asyncio.to_thread(produce, system.bootstrap, system.topic("decisions"), key=b"k1", value=b"x", headers=[])
    bad = decision(str(uuid.uuid4()), sequence=1)
    broken_value = bad.value().replace(b'"released"', b'"maybe"')
    await asyncio.to_thread(
        produce, system.bootstrap, system.topic("decisions"), key=b"k2", value=broken_value, headers=list(bad.headers())
    )
    unknown = decision("01ARZ3NDEKTSV4RRFFQ69G5FAV", sequence=1)
    await send(system, "decisions", unknown)

    letters = await asyncio.to_thread(
        read_until, system.bootstrap, system.topic("decisions.dlq"), lambda records: len(records) >= 3
    )
    reasons = {record.key: record.headers["dlq_reason"] for record in letters}
    assert "missing header(s) ce_specversion, ce_id, ce_source, ce_type" in reasons["k1"]
    assert "outcome" in reasons["k2"]
    assert "unknown declaration 01ARZ3NDEKTSV4RRFFQ69G5FAV" in reasons["01ARZ3NDEKTSV4RRFFQ69G5FAV"]
    first = next(record for record in letters if record.key == "k1")
    assert first.headers["dlq_original_topic"] == system.topic("decisions")
    assert first.headers["dlq_original_offset"].isdigit()
    assert first.headers["dlq_consumer_group"] == f"{system.topic_prefix}gateway"


async def test_the_gateway_accepts_while_kafka_is_unreachable(database: Databases, topic_prefix: str) -> None:
    settings = GatewaySettings(
        database_url=await database.url("gateway"),
        environment="development",
        dev_keys_file=DEV_KEYS,
        **(common_settings("127.0.0.1:9", topic_prefix) | {"startup_retry_seconds": 5}),
    )
    gateway = bootstrap_gateway(settings)
    app = create_app(gateway)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        response = await client.post("/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY)
        assert response.status_code == 201
        ready = await client.get("/ready")
        health = (await client.get("/health")).json()
        async with gateway.runtime.engine.connect() as connection:
            waiting = await connection.scalar(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.sent_at.is_(None), outbox.c.topic == f"{topic_prefix}declarations")
            )
    assert ready.status_code == 200
    assert health["kafka"]["connected"] is False
    assert health["kafka"]["last_error"]
    assert waiting == 1  # the lodgement; an audit anchor may wait beside it, if the sealer's tick came


async def test_a_full_outbox_answers_503_with_retry_after(database: Databases, topic_prefix: str) -> None:
    settings = GatewaySettings(
        database_url=await database.url("gateway"),
        environment="development",
        dev_keys_file=DEV_KEYS,
        outbox_max_backlog=2,
        # No audit seal during the test: its AuditAnchored event would join the two submissions in the outbox.
        audit_seal_ms=600_000,
        **(common_settings("127.0.0.1:9", topic_prefix) | {"startup_retry_seconds": 5}),
    )
    app = create_app(bootstrap_gateway(settings))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        accepted = [
            await client.post("/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY) for _ in range(2)
        ]
        assert [r.status_code for r in accepted] == [201, 201]
        # The backlog is counted at most once a second: wait for a count that includes both.
        await eventually(
            lambda: app.state.gateway.runtime.relay.recent_backlog(max_age=0), within=5, what="a backlog of 2"
        )
        refused = await client.post("/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY)
        backlog = app.state.gateway.runtime.relay.last_backlog
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    # The two lodgements were the fast path's; the refusal is the route's (entrypoints/fast_lodging.py).
    lodged = app.state.fast_lanes["/v1/declarations"]
    assert (lodged.taken, lodged.passed) == (2, 1)
    # The two lodgements, and an audit anchor when the sealer's first round (once at start) came in between.
    assert backlog in (2, 3)
    waiting = f"{backlog} accepted submissions are waiting to be published (bound 2); retry later"
    assert refused.json()["detail"] == waiting


async def test_a_replayed_dead_letter_is_processed_once_its_cause_is_fixed(system: System) -> None:
    laptops = payloads.declaration(None)
    laptops["goods_items"][0] |= {"commodity_code": "84713000", "description": "Laptops"}
    declaration_id = (await system.client.post("/v1/declarations", json=laptops, headers=TRADER_KEY)).json()["id"]
    parked = decision(declaration_id, sequence=5)
    dead_letter_headers: list[tuple[str, str | bytes | None]] = [
        *parked.headers(),
        ("dlq_reason", b"cause since fixed"),
        ("dlq_original_topic", system.topic("decisions").encode()),
    ]
    await asyncio.to_thread(
        produce,
        system.bootstrap,
        system.topic("decisions.dlq"),
        key=parked.key(),
        value=parked.value(),
        headers=dead_letter_headers,
    )

    settings = system.gateway.runtime.settings
    assert await replay(settings, system.topic("decisions.dlq")) == 1
    await eventually(lambda: recorded(system, parked.id), within=30, what="the replayed decision")
    assert await replay(settings, system.topic("decisions.dlq")) == 0  # nothing is replayed twice
