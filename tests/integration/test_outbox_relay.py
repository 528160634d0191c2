"""Two instances of a service on one database: every outbox event is published once, in order."""

import asyncio
from datetime import UTC, datetime

import pytest

from services.contract.cloudevents import Envelope
from services.contract.events import ClearanceDecided, ClearanceStatus
from services.gateway.bootstrap import Gateway
from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.settings import GatewaySettings
from tests.support.databases import Databases
from tests.support.in_process import common_settings
from tests.support.independent_kafka import read_until
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def clearance_events(declaration_id: str, count: int) -> list[Envelope]:
    return [
        Envelope(
            data=ClearanceDecided(
                declaration_id=declaration_id,
                declaration_version=1,
                status=ClearanceStatus.UNDER_CONTROL,
                agencies=[],
                decided_at=datetime.now(UTC),
            ),
            source="test",
            correlation_id=f"event-{n}",
        )
        for n in range(count)
    ]


async def publish_through(gateway: Gateway, events: list[Envelope]) -> None:
    async with gateway.runtime.transactions.begin() as transaction:
        for event in events:
            await transaction.publish(event)


async def drained(*gateways: Gateway) -> bool:
    backlogs = [await gateway.runtime.relay.recent_backlog(max_age=0) for gateway in gateways]
    return not any(backlogs)


async def test_two_relays_on_one_database_publish_each_event_once_and_in_order(
    kafka_bootstrap: str, topic_prefix: str, database: Databases
) -> None:
    settings = GatewaySettings(
        database_url=await database.url("gateway"),
        **(common_settings(kafka_bootstrap, topic_prefix) | {"relay_lease_seconds": 2}),
    )
    first, second = bootstrap_gateway(settings), bootstrap_gateway(settings)
    await first.runtime.start()
    await second.runtime.start()
    try:
        events = clearance_events("01JTESTRELAYORDER000000000", 40)
        for start in range(0, 30, 5):  # committed through both instances, alternately
            await publish_through(first if start % 10 else second, events[start : start + 5])
        await eventually(lambda: drained(first, second), within=30, what="both outboxes drained")
        # One instance held the lease and published everything: the 30 events, and the audit sealer's anchors.
        counts = sorted([first.runtime.relay.published, second.runtime.relay.published])
        assert counts[0] == 0
        assert counts[1] >= 30

        leader, standby = (first, second) if first.runtime.relay.published else (second, first)
        await leader.runtime.stop()  # a clean stop releases the lease at once
        await publish_through(standby, events[30:])
        await eventually(lambda: drained(standby), within=30, what="the standby to take over")
        assert standby.runtime.relay.published >= 10

        records = await asyncio.to_thread(
            read_until, kafka_bootstrap, f"{topic_prefix}clearance", lambda records: len(records) >= 40
        )
        assert [r.headers["ce_id"] for r in records] == [event.id for event in events]
    finally:
        for gateway in (first, second):
            await gateway.runtime.stop()
