"""Two instances of a service on one database: every outbox event is published once, in order."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.contract import outbox as outbox_module
from services.contract.cloudevents import Envelope
from services.contract.database import WriterQueue, _kept_for, reading
from services.contract.doorbell import NotifyBell
from services.contract.events import ClearanceDecided, ClearanceStatus
from services.gateway.bootstrap import Gateway
from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.settings import GatewaySettings
from tests.support.databases import Databases, databases
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


async def test_an_event_another_instance_commits_is_published_at_once_not_at_the_next_poll(
    kafka_bootstrap: str, topic_prefix: str, database: Databases
) -> None:
    """The publishing instance's relay polls once a minute here: each commit of the other instance rings its bell
    (`services.contract.doorbell`: on SQLite the pipe beside the file, on PostgreSQL a notification), and the
    events are on Kafka within seconds, in order. The publishing instance's own commits wake its relay, not the
    bell."""
    slow = {"outbox_poll_ms": 60_000, "audit_seal_ms": 600_000, "relay_lease_seconds": 600}
    settings = GatewaySettings(
        database_url=await database.url("gateway"), **(common_settings(kafka_bootstrap, topic_prefix) | slow)
    )
    publishing, lodging = bootstrap_gateway(settings), bootstrap_gateway(settings)
    await publishing.runtime.start()
    relay, bell = publishing.runtime.relay, lodging.runtime.relay._doorbell
    assert bell is not None
    try:
        await eventually(lambda: _listening(relay), within=30, what="the relay publishing and listening")
        events = clearance_events("01JTESTRELAYBELL0000000000", 8)
        for start in range(0, 8, 2):
            published = relay.published
            await publish_through(publishing if start == 6 else lodging, events[start : start + 2])

            async def sent(before: int = published) -> bool:
                return relay.published >= before + 2

            await eventually(sent, within=15, what="the events sent well before the relay's next poll")
        assert bell.rung >= 1
        assert relay._doorbell is not None
        assert relay._doorbell.rung == 0
        await on_kafka_once_in_order(kafka_bootstrap, topic_prefix, events)
    finally:
        await publishing.runtime.stop()
        await _stop_ringing(lodging)
        await lodging.runtime.engine.dispose()


async def test_a_relay_that_loses_its_listening_connection_listens_again(
    kafka_bootstrap: str, topic_prefix: str, postgres_admin_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL the publishing instance listens on a connection of its own: when the server drops it, the
    relay's next round listens on another, and other instances' events go out at once again."""
    async with databases("postgresql", tmp_path, postgres_admin_url) as database:
        slow = {"outbox_poll_ms": 1_000, "audit_seal_ms": 600_000, "relay_lease_seconds": 600}
        settings = GatewaySettings(
            database_url=await database.url("gateway"), **(common_settings(kafka_bootstrap, topic_prefix) | slow)
        )
        publishing, lodging = bootstrap_gateway(settings), bootstrap_gateway(settings)
        await publishing.runtime.start()
        relay = publishing.runtime.relay
        bell = relay._doorbell
        assert isinstance(bell, NotifyBell)
        try:
            await eventually(lambda: _listening(relay), within=30, what="the relay publishing and listening")
            first = bell._driver
            async with lodging.runtime.engine.connect() as admin:  # the server ends the listening session
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first.get_server_pid()})
            await eventually(lambda: _listening_on_another(relay, first), within=30, what="a new listening connection")
            relay._poll_seconds = 600  # each wait after the one in hand (a second at most) ends only at a ring
            events = clearance_events("01JTESTRELAYBELLAGAIN00000", 4)
            for start in (0, 2):  # the first two may go at the end of the wait in hand; the next two need the bell
                published = relay.published
                await publish_through(lodging, events[start : start + 2])

                async def sent(before: int = published) -> bool:
                    return relay.published >= before + 2

                await eventually(sent, within=15, what="the events sent")
            await on_kafka_once_in_order(kafka_bootstrap, topic_prefix, events)
        finally:
            await publishing.runtime.stop()
            await _stop_ringing(lodging)
            await lodging.runtime.engine.dispose()


async def _listening(relay: Any) -> bool:
    return relay._leading and relay._doorbell is not None and relay._doorbell.listening


async def _listening_on_another(relay: Any, before: object) -> bool:
    return await _listening(relay) and relay._doorbell._driver is not before


@asynccontextmanager
async def publishing_and_lodging(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Gateway]]:
    """Two instances on one SQLite file: the first runs, and its relay has taken the lease and published a first
    event; the second only commits. The lease is long: its renewal is a writer too, and would wait for the
    publishing instance's writers' queue when a test holds it."""
    url = await Databases("sqlite", tmp_path).url("gateway")
    settings = GatewaySettings(
        database_url=url, **(common_settings(kafka_bootstrap, topic_prefix) | {"relay_lease_seconds": 600})
    )
    publishing, lodging = bootstrap_gateway(settings), bootstrap_gateway(settings)
    # The tests hold the publishing instance's writers' queue, none of them in a transaction, while the other
    # instance commits: its writers take no turns with other processes' (`sqlite_turns`), or the queue held would
    # hold the other instance's writers too. SQLite's lock keeps the two apart, as for a process of an older version.
    kept = _kept_for(publishing.runtime.engine)
    kept.writers.close()
    kept.writers = WriterQueue()
    await publishing.runtime.start()
    try:
        await publish_through(lodging, clearance_events("01JTESTRELAYLEASE000000000", 1))
        await eventually(lambda: drained(publishing), within=30, what="the relay publishing")
        assert publishing.runtime.relay.published > 0
        yield publishing, lodging
    finally:
        await publishing.runtime.stop()
        await _stop_ringing(lodging)
        await lodging.runtime.engine.dispose()


async def _stop_ringing(gateway: Gateway) -> None:
    """Close the bell of an instance whose relay never ran (its relay would close it as it stops)."""
    if (bell := gateway.runtime.relay._doorbell) is not None:
        await bell.close()


async def on_kafka_once_in_order(kafka_bootstrap: str, topic_prefix: str, events: list[Envelope]) -> None:
    ours = {event.id for event in events}
    records = await asyncio.to_thread(
        read_until,
        kafka_bootstrap,
        f"{topic_prefix}clearance",
        lambda records: sum(r.headers["ce_id"] in ours for r in records) >= len(events),
        timeout=10,
    )
    assert [r.headers["ce_id"] for r in records if r.headers["ce_id"] in ours] == [event.id for event in events]


async def test_a_relay_whose_marks_wait_publishes_what_comes_next_and_nothing_twice(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Under load the relay's mark of what it sent waits for the write lock behind the service's other writers.
    Meanwhile it publishes the rows committed after, leaving out those it sent: here the marks wait for the
    publishing instance's writers' queue, held by the test, while another instance on the file commits."""
    async with publishing_and_lodging(kafka_bootstrap, topic_prefix, tmp_path) as (publishing, lodging):
        relay = publishing.runtime.relay
        events = clearance_events("01JTESTRELAYMARKS000000000", 9)
        start = relay.published

        async def sent(count: int) -> bool:
            return relay.published >= start + count

        async with _kept_for(publishing.runtime.engine).writers.turn():  # what the marks wait for
            await publish_through(lodging, events[:3])
            await eventually(lambda: sent(3), within=30, what="the first three sent")
            await publish_through(lodging, events[3:6])
            await eventually(lambda: sent(6), within=30, what="the next three sent")
            # Sent, and none marked sent yet (the audit sealer may have added an anchor before the queue was held).
            assert await relay.recent_backlog(max_age=0) >= 6
        await eventually(lambda: drained(publishing), within=30, what="the marks made once the queue moved")
        await publish_through(lodging, events[6:])
        await eventually(lambda: drained(publishing), within=30, what="the last three published")
        await on_kafka_once_in_order(kafka_bootstrap, topic_prefix, events)


async def test_the_producer_takes_a_relay_batch_without_waiting_for_the_broker(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    """aiokafka's send() waits for the broker when the partition's batch is full. Half a relay batch of events the
    size of a realistic declaration's (100 of 3 kB), all to one partition, goes to the producer at once, and only
    then does the relay wait for the broker: under a consumer's load, each wait was a turn of the event loop behind
    the consumer's work."""
    settings = GatewaySettings(
        database_url=await Databases("sqlite", tmp_path).url("gateway"),
        **common_settings(kafka_bootstrap, topic_prefix),
    )
    gateway = bootstrap_gateway(settings)
    await gateway.runtime.start()
    try:
        producer = await gateway.runtime.link.producer()
        topic = f"{topic_prefix}clearance"
        values = [f"{n:04d}".encode() + b"x" * 3000 for n in range(100)]
        deliveries = [await producer.send(topic, value=value, key=b"one-declaration") for value in values]
        assert not any(delivery.done() for delivery in deliveries)  # none waited for the broker
        sent = await asyncio.gather(*deliveries)
        assert len({metadata.partition for metadata in sent}) == 1
        records = await asyncio.to_thread(
            read_until, kafka_bootstrap, topic, lambda records: sum(r.key == "one-declaration" for r in records) >= 100
        )
        assert [r.value for r in records if r.key == "one-declaration"] == values
    finally:
        await gateway.runtime.stop()


async def test_a_mark_committed_while_the_relay_reads_sends_nothing_twice(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relay round reads the unsent rows in one snapshot, and the mark of the rows sent before may commit while
    the read awaits them (on PostgreSQL it did): the round still leaves those rows out. Here the marks are held,
    then let through right after the round's read, before it looks at its rows."""
    async with publishing_and_lodging(kafka_bootstrap, topic_prefix, tmp_path) as (publishing, lodging):
        relay = publishing.runtime.relay
        events = clearance_events("01JTESTRELAYRACE0000000000", 3)
        start = relay.published

        async def sent(count: int) -> bool:
            return relay.published >= start + count

        holding = _kept_for(publishing.runtime.engine).writers.turn()
        await holding.__aenter__()  # the marks wait
        released = False
        try:
            await publish_through(lodging, events[:2])
            await eventually(lambda: sent(2), within=30, what="two events sent, their mark waiting")

            @asynccontextmanager
            async def read_then_marked(engine: Any) -> AsyncIterator[Any]:
                async with reading(engine) as connection:
                    yield _MarksAfterTheRead(connection, relay, release_marks)

            async def release_marks() -> None:
                nonlocal released
                if not released:
                    released = True
                    await holding.__aexit__(None, None, None)
                    await eventually(lambda: _no_marks_pending(relay), within=30, what="the marks committed")

            monkeypatch.setattr(outbox_module, "reading", read_then_marked)
            await publish_through(lodging, events[2:])  # the next round reads the two rows and the new one
            await eventually(lambda: sent(3), within=30, what="the third event sent")
            await eventually(lambda: drained(publishing), within=30, what="everything marked")
        finally:
            if not released:
                await holding.__aexit__(None, None, None)
        assert relay.published == start + 3
        await on_kafka_once_in_order(kafka_bootstrap, topic_prefix, events)


class _MarksAfterTheRead:
    """A reading connection that lets the held marks commit once the relay's read of unsent rows has its rows."""

    def __init__(self, connection: Any, relay: Any, release: Callable[[], Awaitable[None]]) -> None:
        self._connection = connection
        self._relay = relay
        self._release = release

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        found = await self._connection.execute(statement, *args, **kwargs)
        if statement is not self._relay._unsent:
            return found
        rows = list(found)  # the read's snapshot: the rows sent before still show unsent
        await self._release()
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


async def _no_marks_pending(relay: Any) -> bool:
    return not relay._unmarked
