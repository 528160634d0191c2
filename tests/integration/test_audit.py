"""The audit trail end to end: actions over HTTP and decisions over Kafka are recorded with their actor,
sealed, anchored on Kafka, and the verify command finds tampering in the database."""

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from sqlalchemy import delete, select, update

from services.contract.events import Topic
from services.contract.kafka import connection
from services.gateway.adapters.audit_anchors import published_anchors
from services.gateway.adapters.orm import audit_log
from services.gateway.domain.callers import Role
from services.gateway.entrypoints.audit import verify
from services.gateway.service_layer import api_keys
from tests.integration.test_customs_controls import customs_decision, inspect
from tests.integration.test_flow import submit_declaration, wait_for_status
from tests.integration.test_outbox_relay import clearance_events
from tests.support import payloads
from tests.support.in_process import TRADER_KEY, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def sealed_and_anchored(system: System, declaration_id: str) -> list[Any]:
    """The trail once every record of the declaration is sealed and the last seal is anchored on Kafka."""

    async def ready() -> list[Any] | None:
        async with system.gateway.runtime.engine.connect() as connection:
            rows = list(await connection.execute(select(audit_log).order_by(audit_log.c.id)))
        mine = [row for row in rows if row.subject == declaration_id]
        if not mine or any(row.position is None for row in rows):
            return None
        head = max(row.position for row in rows)
        anchors = await published_anchors(system.gateway.settings)
        return rows if any(anchor.position == head for anchor in anchors) else None

    found: list[Any] = await eventually(ready, within=30, what="the audit trail to be sealed and anchored")
    return found


async def test_who_did_what_is_sealed_anchored_and_verified(system: System, capsys: pytest.CaptureFixture[str]) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("61091000", "CN", net_mass_kg="500"))
    await customs_decision(system, declaration_id, 1)
    assert (await inspect(system, declaration_id, result="release", findings="in order")).status_code == 201
    await wait_for_status(system, declaration_id, "released")

    rows = await sealed_and_anchored(system, declaration_id)
    mine = [(row.action, row.actor) for row in rows if row.subject == declaration_id]
    assert ("DeclarationSubmitted", "trader:GB123456789000 (Roses Import Ltd (trader))") in mine
    assert ("InspectionRecorded", "officer:customs (customs officer)") in mine
    assert ("AgencyDecisionMade", "service:customs") in mine
    assert ("ClearanceDecided", "gateway") in mine
    assert [row.position for row in rows] == list(range(1, len(rows) + 1))

    assert await verify(system.gateway.settings) == 0
    assert "the trail is intact" in capsys.readouterr().out

    engine = system.gateway.runtime.engine
    async with engine.begin() as connection:
        await connection.execute(update(audit_log).where(audit_log.c.position == 2).values(actor="trader:GB1"))
    assert await verify(system.gateway.settings) == 1
    assert "PROBLEM: record 2 was changed after it was sealed" in capsys.readouterr().out

    head = len(rows)
    async with engine.begin() as connection:
        await connection.execute(delete(audit_log).where(audit_log.c.position == head))
    assert await verify(system.gateway.settings) == 1
    out = capsys.readouterr().out
    assert f"record {head}, anchored outside the database, is gone" in out or f"record {head} is missing" in out


async def test_changes_to_webhooks_and_keys_are_in_the_trail(system: System) -> None:
    registered = await system.client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.org/sw"}, headers=TRADER_KEY
    )
    assert registered.status_code == 201, registered.text
    webhook_id = registered.json()["id"]
    assert (await system.client.delete(f"/v1/webhooks/{webhook_id}", headers=TRADER_KEY)).status_code == 204
    async with system.gateway.runtime.engine.begin() as connection:
        spec = api_keys.KeySpec(role=Role.OFFICER, subject="customs", label="night shift")
        key_id, _ = await api_keys.create(connection, spec, datetime.now(UTC), actor="cli:ops")
        assert await api_keys.revoke(connection, key_id, datetime.now(UTC), actor="cli:ops")
        assert not await api_keys.revoke(connection, key_id, datetime.now(UTC), actor="cli:ops")  # once only

    rows = await sealed_and_anchored(system, key_id)
    changes = [(row.action, row.subject, row.actor) for row in rows if row.subject in (webhook_id, key_id)]
    trader = "trader:GB123456789000 (Roses Import Ltd (trader))"
    assert changes == [
        ("WebhookRegistered", webhook_id, trader),
        ("WebhookDeleted", webhook_id, trader),
        ("ApiKeyCreated", key_id, "cli:ops"),
        ("ApiKeyRevoked", key_id, "cli:ops"),
    ]
    assert await verify(system.gateway.settings) == 0


async def test_the_audit_topic_keeps_its_anchors_for_good(system: System) -> None:
    """The broker deletes records after a week by default; the anchors are what a trail is verified against."""
    settings = system.gateway.settings
    admin = AIOKafkaAdminClient(**connection(settings), client_id="test-audit-retention")
    await admin.start()
    try:
        names = (settings.topic(Topic.AUDIT), settings.topic(Topic.DECLARATIONS))
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    finally:
        await admin.close()
    retention = {
        name: value
        for response in responses
        for _, _, _, name, entries in response.resources
        for key, value, *_ in entries
        if key == "retention.ms"
    }
    assert retention == {settings.topic(Topic.AUDIT): "-1", settings.topic(Topic.DECLARATIONS): "604800000"}


async def test_each_event_of_a_publish_has_its_record_in_order(system: System) -> None:
    """A transaction publishing several events at once (the decision join publishes one a declaration decided)
    records each, in the order published, with the actor then acting."""
    events = clearance_events("01JTESTAUDITMANY0000000000", 3)
    async with system.gateway.runtime.transactions.begin() as transaction:
        await transaction.publish(*events)
    async with system.gateway.runtime.engine.connect() as connection:
        rows = list(await connection.execute(select(audit_log).order_by(audit_log.c.id)))
    recorded = [(row.event_id, row.action, row.actor) for row in rows if row.subject == "01JTESTAUDITMANY0000000000"]
    assert recorded == [(event.id, "ClearanceDecided", "gateway") for event in events]
