"""The gateway's batch handler of agency decisions (Gateway.on_decisions) against its one-at-a-time handler: two
sets of declarations alike, the same decisions on each, one set decided one event at a time and the other in one
batch, and what each declaration's clearance, timeline, notices and events came to compared."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import select

from services.contract.cloudevents import Envelope
from services.contract.events import Outcome, Reason
from services.gateway.adapters import orm
from services.gateway.bootstrap import Gateway
from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings
from tests.support import payloads
from tests.support.databases import Databases
from tests.support.in_process import DEV_KEYS, TRADER_KEY, common_settings
from tests.unit.builders import AT, agency_decision_made

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(kafka_bootstrap: str, topic_prefix: str, database: Databases) -> AsyncIterator[Gateway]:
    """A gateway alone: no agency runs, so the only decisions it takes in are the test's."""
    settings = GatewaySettings(
        database_url=await database.url("gateway"),
        environment="development",
        dev_keys_file=DEV_KEYS,
        **common_settings(kafka_bootstrap, topic_prefix),
    )
    service = bootstrap_gateway(settings, clock=lambda: AT)
    await service.start()
    try:
        yield service
    finally:
        await service.runtime.stop()


async def lodged(gateway: Gateway, bodies: list[dict[str, Any]]) -> list[str]:
    transport = httpx.ASGITransport(app=create_app(gateway))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        ids = []
        for body in bodies:
            response = await client.post("/v1/declarations", json=body, headers=TRADER_KEY)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids


def decisions_on(ids: list[str]) -> list[Envelope]:
    """Customs releases the first and refers nothing; the second it holds; plant health holds the first (a
    certificate awaited), then releases it; the third is customs-only and released."""
    first, second, third = ids

    def made(declaration_id: str, agency: str, outcome: Outcome, sequence: int = 1, **details: Any) -> Envelope:
        reasons = [] if outcome is Outcome.RELEASED else [Reason(code="HELD_FOR_TEST", text=f"{agency} holds it")]
        data = agency_decision_made(
            agency=agency,
            declaration_id=declaration_id,
            outcome=outcome,
            sequence=sequence,
            reasons=reasons,
            details=details,
        )
        return Envelope(data=data, source=agency, correlation_id=f"{agency}-{declaration_id}-{sequence}")

    return [
        made(first, "customs", Outcome.RELEASED, lane="green"),
        made(second, "customs", Outcome.HELD, lane="red"),
        made(first, "phyto", Outcome.HELD, awaited_certificates=["X"]),  # the same declaration: a run of its own
        made(third, "customs", Outcome.RELEASED, lane="green"),
        made(first, "phyto", Outcome.RELEASED, sequence=2),
        made(second, "phyto", Outcome.RELEASED),
    ]


def record_of(envelope: Envelope, offset: int) -> ConsumerRecord:
    value = envelope.value()
    return ConsumerRecord("decisions", 0, offset, 0, 0, None, value, None, 0, len(value), tuple(envelope.headers()))


async def outcome_of(gateway: Gateway, declaration_id: str) -> dict[str, Any]:
    """What a declaration's decisions came to, without the ids and times that differ between two declarations."""
    async with gateway.runtime.engine.connect() as connection:
        row = (await connection.execute(select(orm.declarations).where(orm.declarations.c.id == declaration_id))).one()
        timeline = await connection.execute(
            select(orm.timeline.c.kind, orm.timeline.c.agency, orm.timeline.c.detail)
            .where(orm.timeline.c.declaration_id == declaration_id)
            .order_by(orm.timeline.c.id)
        )
        notices = await connection.execute(
            select(orm.notifications.c.type, orm.notifications.c.data).order_by(orm.notifications.c.sequence)
        )
        outbox = await connection.execute(select(orm.outbox.c.key, orm.outbox.c.value).order_by(orm.outbox.c.id))
    mine = [(kind, data.get("state")) for kind, data in notices if data.get("declaration_id") == declaration_id]
    clearances = [value for key, value in outbox if key == declaration_id.encode() and b"ClearanceDecided" in value]
    return {
        "state": (row.state, row.status, row.status_reasons),
        "timeline": [tuple(entry) for entry in timeline],
        "notices": mine,
        "clearances": len(clearances),
    }


async def test_the_gateway_joins_a_batch_of_decisions_as_it_would_one_at_a_time(gateway: Gateway) -> None:
    def bodies() -> list[dict[str, Any]]:  # each with an LRN of its own
        return [payloads.declaration(payloads.certificate_number()) for _ in range(2)] + [
            payloads.customs_only("84713000", "CN")
        ]

    alone, together = await lodged(gateway, bodies()), await lodged(gateway, bodies())

    one_by_one = decisions_on(alone)
    answers_alone = [await gateway.on_decision(event, record_of(event, n)) for n, event in enumerate(one_by_one)]
    batch = decisions_on(together)
    batch.insert(2, batch[1])  # redelivered within the batch
    async with gateway.runtime.transactions.batch():
        answers = await gateway.on_decisions([(event, record_of(event, n)) for n, event in enumerate(batch)])

    assert answers_alone == [True] * 6
    assert answers == [True, True, False, True, True, True, True]
    for declaration_alone, declaration_together in zip(alone, together, strict=True):
        assert await outcome_of(gateway, declaration_together) == await outcome_of(gateway, declaration_alone)
    states = [(await outcome_of(gateway, declaration_id))["state"][:2] for declaration_id in together]
    assert states == [("released", "released"), ("partially_held", "held"), ("released", "released")]
