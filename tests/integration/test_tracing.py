"""OpenTelemetry across HTTP and Kafka: one trace from the gateway's request through customs and phyto and back,
received by an in-process OTLP/HTTP receiver; with tracing off, events carry no trace context."""

import json

import pytest
from sqlalchemy import Table, select

from services.contract.runtime import Runtime
from services.customs.adapters import orm as customs_orm
from services.gateway.adapters import orm as gateway_orm
from services.phyto.adapters import orm as phyto_orm
from tests.support import payloads
from tests.support.databases import Databases
from tests.support.in_process import TRADER_KEY, System, running_system
from tests.support.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def chain(span: ReceivedSpan, spans: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    """The span and its ancestors, up to the root (or the first parent not received)."""
    ancestors = [span]
    while ancestors[-1].parent_span_id in spans:
        ancestors.append(spans[ancestors[-1].parent_span_id])
    return ancestors


def described(ancestors: list[ReceivedSpan]) -> list[str]:
    return [f"{span.service}: {span.name}" for span in ancestors]


async def submitted(system: System) -> str:
    """A declaration of cut roses, with no certificate yet: customs decides, plant health holds it."""
    response = await system.client.post("/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY)
    assert response.status_code == 201, response.text
    assert response.json()["required_agencies"] == ["customs", "phyto"]
    return str(response.json()["id"])


async def test_one_trace_follows_a_declaration_through_kafka_to_customs_and_phyto_and_back(
    kafka_bootstrap: str, topic_prefix: str, database: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # export every 100 ms rather than every 5 s
    declarations, decisions = f"{topic_prefix}declarations", f"{topic_prefix}decisions"
    with otlp_receiver() as receiver:
        async with running_system(kafka_bootstrap, topic_prefix, database, otlp_endpoint=receiver.endpoint) as system:
            await submitted(system)

            def the_request() -> ReceivedSpan | None:
                posts = [s for s in receiver.snapshot() if s.name == "POST /v1/declarations"]
                return posts[0] if posts else None

            async def traced_back(agency: str) -> list[ReceivedSpan] | None:
                """The gateway's span on the decision of `agency`, with its ancestors, once all were received."""
                request = the_request()
                if request is None:
                    return None
                spans = {s.span_id: s for s in receiver.snapshot() if s.trace_id == request.trace_id}
                for span in spans.values():
                    ancestors = chain(span, spans)
                    if (span.service, span.name) == ("gateway", f"process {decisions}") and any(
                        (a.service, a.name) == (agency, f"process {declarations}") for a in ancestors
                    ):
                        return ancestors
                return None

            from_customs = await eventually(lambda: traced_back("customs"), within=60, what="customs' decision traced")
            from_phyto = await eventually(lambda: traced_back("phyto"), within=60, what="phyto's decision traced")

        # Child to parent: the gateway consuming the decision, back across Kafka to the gateway's request.
        assert described(from_customs) == [
            f"gateway: process {decisions}",
            f"customs: create {decisions}",
            f"customs: process {declarations}",
            f"gateway: create {declarations}",
            "gateway: POST /v1/declarations",
        ]
        assert described(from_phyto)[1:] == [
            f"phyto: create {decisions}",
            f"phyto: process {declarations}",
            f"gateway: create {declarations}",
            "gateway: POST /v1/declarations",
        ]
        request = from_customs[-1]
        assert request.parent_span_id == ""  # the client sent no traceparent: the request starts the trace
        assert request.kind == "server"
        assert request.attributes["http.route"] == "/v1/declarations"
        assert request.attributes["http.response.status_code"] == 201
        consumed = from_customs[2]
        assert consumed.kind == "consumer"
        assert consumed.attributes["messaging.system"] == "kafka"
        assert consumed.attributes["messaging.destination.name"] == declarations
        assert consumed.attributes["messaging.consumer.group.name"] == f"{topic_prefix}customs"
        assert consumed.attributes["messaging.message.id"] == from_customs[3].attributes["messaging.message.id"]
        assert {"messaging.destination.partition.id", "messaging.kafka.offset"} <= set(consumed.attributes)

        # The relay's send span hangs under the event it published; the clearance joins the same trace.
        trace = [s for s in receiver.snapshot() if s.trace_id == request.trace_id]
        sent = [s for s in trace if s.name == f"send {declarations}"]
        assert [s.parent_span_id for s in sent] == [from_customs[3].span_id]
        assert any(s.name == f"create {topic_prefix}clearance" for s in trace)


async def header_names(runtime: Runtime, outbox: Table) -> list[set[str]]:
    """The names of the headers stored with each event in a service's outbox."""
    async with runtime.engine.connect() as connection:
        stored = (await connection.execute(select(outbox.c.headers))).scalars().all()
    return [{name for name, _ in json.loads(headers)} for headers in stored]


async def test_with_tracing_off_events_carry_no_trace_context(system: System) -> None:
    await submitted(system)
    outboxes = [
        (system.gateway.runtime, gateway_orm.outbox),
        (system.customs.runtime, customs_orm.messaging[0]),
        (system.phyto.runtime, phyto_orm.messaging[0]),
    ]

    async def every_service_published() -> list[list[set[str]]] | None:
        published = [await header_names(runtime, outbox) for runtime, outbox in outboxes]
        return published if all(published) else None

    published = await eventually(every_service_published, within=30, what="an event from every service")
    for events in published:
        for names in events:
            assert "ce_id" in names
            assert not names & {"ce_traceparent", "ce_tracestate", "traceparent", "tracestate"}
