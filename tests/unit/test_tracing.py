"""Tracing: trace context into outbox headers, out of Kafka records and HTTP requests; nothing when it is off.

Spans go to the SDK's in-memory exporter: no collector, no network.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI, HTTPException
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.contract.cloudevents import Envelope, decode
from services.contract.ops import install_http_middleware
from services.contract.settings import ServiceSettings
from services.contract.tracing import Tracing, traces_url
from tests.unit.builders import declaration_submitted

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"


class Traced:
    """A started Tracing for service `customs` and the spans it has finished."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracing = Tracing("customs", lambda: self.exporter)
        self.tracing.start()

    async def spans(self) -> list[ReadableSpan]:
        await self.tracing.stop()  # flushes what the batch processor holds
        return list(self.exporter.get_finished_spans())


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    traced = Traced()
    yield traced
    await traced.tracing.stop()


def envelope() -> Envelope:
    return Envelope(data=declaration_submitted(), source="gateway", correlation_id="corr-1", id="evt-1")


def record(headers: list[tuple[str, bytes]], topic: str = "declarations") -> ConsumerRecord:
    return ConsumerRecord(
        topic, 2, 41, 0, 0, b"key", envelope().value(), None, 3, 10, [*envelope().headers(), *headers]
    )


def hex_trace_id(span: ReadableSpan) -> str:
    return f"{span.context.trace_id:032x}"


class TestOff:
    def test_with_no_endpoint_configured_tracing_is_off(self):
        assert not Tracing.configured(ServiceSettings()).enabled

    def test_with_no_endpoint_configured_no_trace_headers_are_written_even_inside_a_span(self):
        elsewhere = TracerProvider().get_tracer("another service in this process")
        with elsewhere.start_as_current_span("request"):
            headers = Tracing.configured(ServiceSettings()).event_headers(envelope(), "declarations")
        assert headers == []

    def test_an_empty_endpoint_variable_means_off(self, monkeypatch):
        monkeypatch.setenv("SW_TEST_OTLP_ENDPOINT", "")
        assert ServiceSettings.load("SW_TEST_").otlp_endpoint is None

    def test_an_endpoint_that_is_not_a_url_stops_the_service_naming_the_variable(self, monkeypatch, capsys):
        monkeypatch.setenv("SW_TEST_OTLP_ENDPOINT", "collector:4318")
        with pytest.raises(SystemExit):
            ServiceSettings.load("SW_TEST_")
        assert "SW_TEST_OTLP_ENDPOINT" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http://collector:4318/v1/traces"),
        ("https://otel.example.org/v1/traces", "https://otel.example.org/v1/traces"),
    ],
)
def test_spans_go_to_the_standard_otlp_http_traces_path(endpoint, url):
    assert traces_url(endpoint) == url


class TestOutboxHeaders:
    async def test_an_event_enqueued_in_a_span_carries_the_context_of_a_create_span_child_of_it(self, traced):
        with traced.tracing.consumer_span(record([]), "customs") as current:
            headers = dict(traced.tracing.event_headers(envelope(), "decisions"))
        spans = {span.name: span for span in await traced.spans()}
        create = spans["create decisions"]
        assert create.kind is SpanKind.PRODUCER
        assert create.parent is not None
        assert create.parent.span_id == current.get_span_context().span_id
        _version, trace_id, parent_id, flags = headers["ce_traceparent"].decode().split("-")
        assert (trace_id, parent_id) == (hex_trace_id(create), f"{create.context.span_id:016x}")
        assert int(flags, 16) & 1  # sampled
        assert create.attributes is not None
        assert create.attributes["messaging.message.id"] == "evt-1"
        assert create.attributes["messaging.destination.name"] == "decisions"

    async def test_an_event_enqueued_outside_any_span_carries_no_trace_context(self, traced):
        assert traced.tracing.event_headers(envelope(), "audit") == []
        assert await traced.spans() == []

    async def test_the_relay_sends_within_a_span_child_of_the_create_span(self, traced):
        with traced.tracing.consumer_span(record([]), "customs"):
            headers = traced.tracing.event_headers(envelope(), "decisions")
        with traced.tracing.sending([("decisions", [*envelope().headers(), *headers]), ("audit", [])]):
            pass
        spans = {span.name: span for span in await traced.spans()}
        assert spans["send decisions"].parent is not None
        assert spans["send decisions"].parent.span_id == spans["create decisions"].context.span_id
        assert "send audit" not in spans  # an event without a trace context starts none


class TestConsumer:
    async def test_a_record_with_a_trace_context_is_processed_in_a_child_span(self, traced):
        with traced.tracing.consumer_span(record([("ce_traceparent", TRACEPARENT.encode())]), "customs"):
            pass
        [span] = await traced.spans()
        assert (span.name, span.kind) == ("process declarations", SpanKind.CONSUMER)
        assert hex_trace_id(span) == TRACE_ID
        assert span.parent is not None
        assert f"{span.parent.span_id:016x}" == SPAN_ID
        assert span.resource.attributes["service.name"] == "customs"
        assert span.attributes == {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": "declarations",
            "messaging.destination.partition.id": "2",
            "messaging.kafka.offset": 41,
            "messaging.consumer.group.name": "customs",
            "messaging.message.id": "evt-1",
            "cloudevents.event_type": envelope().type,
        }

    async def test_the_plain_traceparent_of_instrumented_producers_is_continued_too(self, traced):
        with traced.tracing.consumer_span(record([("traceparent", TRACEPARENT.encode())]), "customs"):
            pass
        [span] = await traced.spans()
        assert hex_trace_id(span) == TRACE_ID

    async def test_a_record_without_trace_headers_starts_a_new_trace(self, traced):
        elsewhere = TracerProvider().get_tracer("another service in this process")
        with elsewhere.start_as_current_span("unrelated"), traced.tracing.consumer_span(record([]), "customs"):
            pass
        [span] = await traced.spans()
        assert span.parent is None

    @pytest.mark.parametrize(
        "garbage",
        [
            b"garbage",
            b"00-00000000000000000000000000000000-b7ad6b7169203331-01",  # the invalid all-zero trace id
            f"00-{TRACE_ID}-{SPAN_ID}".encode(),  # no flags
            b"\xff\xfe not UTF-8",
            b"",
        ],
    )
    async def test_a_garbage_traceparent_starts_a_fresh_trace_without_an_error(self, traced, garbage):
        received = record([("ce_traceparent", garbage), ("ce_tracestate", b"\xff,=,=")])
        assert decode(received.headers, received.value).id == "evt-1"  # the event itself is fine
        with traced.tracing.consumer_span(received, "customs") as current:
            assert current.get_span_context().is_valid
        [span] = await traced.spans()
        assert span.parent is None
        assert hex_trace_id(span) != TRACE_ID

    async def test_a_dead_lettered_record_marks_its_span_failed(self, traced):
        with traced.tracing.consumer_span(record([]), "customs"):
            traced.tracing.failed("dead-lettered: not a CloudEvent")
        [span] = await traced.spans()
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "dead-lettered: not a CloudEvent"


class TestHttp:
    @staticmethod
    def app(tracing: Tracing) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/declarations/{declaration_id}")
        async def read(declaration_id: str) -> dict[str, str]:
            if declaration_id == "broken":
                raise HTTPException(503, "database unavailable")
            return {"id": declaration_id}

        install_http_middleware(app, tracing)
        return app

    async def get(self, tracing: Tracing, path: str, headers: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app(tracing))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get(path, headers=headers)

    async def test_a_request_span_is_named_after_its_route_and_continues_the_callers_trace(self, traced):
        response = await self.get(traced.tracing, "/v1/declarations/01J0000", {"traceparent": TRACEPARENT})
        assert response.status_code == 200
        [span] = await traced.spans()
        assert (span.name, span.kind) == ("GET /v1/declarations/{declaration_id}", SpanKind.SERVER)
        assert hex_trace_id(span) == TRACE_ID
        assert span.parent is not None
        assert span.parent.is_remote
        assert span.attributes is not None
        assert span.attributes["http.route"] == "/v1/declarations/{declaration_id}"
        assert span.attributes["http.response.status_code"] == 200
        assert span.attributes["url.path"] == "/v1/declarations/01J0000"

    async def test_a_server_error_marks_the_span_failed_and_a_garbage_traceparent_a_new_trace(self, traced):
        response = await self.get(traced.tracing, "/v1/declarations/broken", {"traceparent": "garbage"})
        assert response.status_code == 503
        [span] = await traced.spans()
        assert span.parent is None
        assert span.status.status_code is StatusCode.ERROR

    async def test_an_unknown_path_is_named_by_its_method_only(self, traced):
        response = await self.get(traced.tracing, "/nowhere", {})
        assert response.status_code == 404
        [span] = await traced.spans()
        assert span.name == "GET"

    async def test_with_tracing_off_requests_are_answered_as_before(self):
        response = await self.get(Tracing("gateway"), "/v1/declarations/01J0000", {"traceparent": TRACEPARENT})
        assert response.status_code == 200
        assert "traceparent" not in response.headers
