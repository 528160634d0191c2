"""OpenTelemetry tracing of one service: HTTP server spans, trace context stored with outbox events, consumer
spans that continue it. Exported over OTLP/HTTP when an endpoint is set; otherwise off, at the cost of a check.

One trace follows a submission: the gateway's HTTP span, the event it enqueues (a ``create <topic>`` span whose
W3C trace context travels in the event's ``ce_traceparent`` header), each agency's ``process <topic>`` span,
the decisions they publish, and the gateway's span consuming them.
"""

import asyncio
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from aiokafka import ConsumerRecord
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.requests import Request

from services.contract.cloudevents import TRACE_CONTEXT_HEADERS, Envelope
from services.contract.settings import ServiceSettings

TRACES_PATH = "/v1/traces"
INSTRUMENTATION_SCOPE = "single-window"
_W3C = TraceContextTextMapPropagator()


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector: its base URL with /v1/traces, unless already there."""
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else f"{base}{TRACES_PATH}"


class Tracing:
    """The tracer of one service process; its provider lives from start() to stop().

    Each service has its own provider (and so its own ``service.name``), so that services sharing a process,
    as in the tests, are told apart; nothing here touches OpenTelemetry's global provider.
    """

    def __init__(self, service: str, exporter: Callable[[], SpanExporter] | None = None) -> None:
        self.service = service
        self._exporter = exporter
        self._provider: TracerProvider | None = None
        self._tracer: Tracer | None = None

    @classmethod
    def configured(cls, settings: ServiceSettings) -> "Tracing":
        """Tracing to the service's OTLP endpoint; off when it has none."""
        if settings.otlp_endpoint is None:
            return cls(settings.service_name)
        # Imported only when used: the exporter brings protobuf and requests (some 70 ms at start).
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        url = traces_url(str(settings.otlp_endpoint))
        return cls(settings.service_name, lambda: OTLPSpanExporter(endpoint=url))

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def start(self) -> None:
        """Build the provider and its exporter; batches go out from a thread of the SDK's (OTEL_BSP_* tune it)."""
        if self._exporter is None or self._provider is not None:
            return
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: self.service}), shutdown_on_exit=False)
        provider.add_span_processor(BatchSpanProcessor(self._exporter()))
        self._provider = provider
        self._tracer = provider.get_tracer(INSTRUMENTATION_SCOPE)

    async def stop(self) -> None:
        """Export the spans still queued, then stop; the export blocks, so it runs off the event loop."""
        provider, self._provider, self._tracer = self._provider, None, None
        if provider is not None:
            await asyncio.to_thread(provider.shutdown)

    @contextmanager
    def server_span(self, request: Request) -> Iterator[Span]:
        """The current span while a request is handled; continues the caller's W3C ``traceparent``, if any.

        Named after the method until the route template is known (see `answered`).
        """
        if self._tracer is None:
            yield INVALID_SPAN
            return
        attributes = {
            "http.request.method": request.method,
            "url.path": request.url.path,
            "url.scheme": request.url.scheme,
        }
        if request.client is not None:
            attributes["client.address"] = request.client.host
        if "user-agent" in request.headers:
            attributes["user_agent.original"] = request.headers["user-agent"]
        with self._tracer.start_as_current_span(
            request.method, context=_W3C.extract(request.headers), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield span

    def event_headers(self, envelope: Envelope, topic: str) -> list[tuple[str, bytes]]:
        """Headers carrying the trace context into the outbox with an event enqueued now.

        None when tracing is off or no span is current (a background job's events start no trace); otherwise
        a ``create <topic>`` PRODUCER span, child of the current span, and its context as ``ce_traceparent``
        (and ``ce_tracestate``): the CloudEvents distributed tracing extension in Kafka binary mode.
        """
        if self._tracer is None or not trace.get_current_span().get_span_context().is_valid:
            return []
        span = self._tracer.start_span(
            f"create {topic}", kind=SpanKind.PRODUCER, attributes=_message_attributes("create", topic, envelope.id)
        )
        span.set_attribute("cloudevents.event_type", envelope.type)
        span.end()
        carrier: dict[str, str] = {}
        _W3C.inject(carrier, context=trace.set_span_in_context(span))
        return [(TRACE_CONTEXT_HEADERS[name], value.encode()) for name, value in carrier.items()]

    @contextmanager
    def sending(self, messages: Iterable[tuple[str, Sequence[tuple[str, bytes]]]]) -> Iterator[None]:
        """``send <topic>`` PRODUCER spans around a batch the relay publishes, one per event that carries a
        trace context (a child of its ``create`` span); they end when the broker has acknowledged the batch."""
        if self._tracer is None:
            yield
            return
        spans = []
        for topic, headers in messages:
            text = _text_headers(headers)
            parent = _trace_parent(text)
            if parent is not None:
                attributes = _message_attributes("send", topic, text.get("ce_id", ""))
                spans.append(
                    self._tracer.start_span(
                        f"send {topic}", context=parent, kind=SpanKind.PRODUCER, attributes=attributes
                    )
                )
        try:
            yield
        except Exception as exc:
            for span in spans:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            for span in spans:
                span.end()

    @contextmanager
    def consumer_span(self, record: ConsumerRecord, group: str) -> Iterator[Span]:
        """The current span while a record is processed: a child of the context in its headers, or the root
        of a new trace when it has none (or one that does not parse)."""
        if self._tracer is None:
            yield INVALID_SPAN
            return
        text = _text_headers(record.headers)
        attributes = _message_attributes("process", record.topic, text.get("ce_id", "")) | {
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": group,
        }
        if "ce_type" in text:
            attributes["cloudevents.event_type"] = text["ce_type"]
        with self._tracer.start_as_current_span(
            f"process {record.topic}",
            context=_trace_parent(text) or Context(),  # an empty context: the root of a new trace
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        ) as span:
            yield span

    def failed(self, reason: str) -> None:
        """Mark the current span (the record in hand) as failed, e.g. when it is dead-lettered."""
        if self._tracer is not None:
            trace.get_current_span().set_status(Status(StatusCode.ERROR, reason))


def answered(span: Span, method: str, route: str | None, status: int) -> None:
    """Name a server span after the route template it matched (None: no route) and record the status."""
    if not span.is_recording():
        return
    if route is not None:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))


def _message_attributes(operation: str, topic: str, event_id: str) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": topic,
    }
    if event_id:
        attributes["messaging.message.id"] = event_id
    return attributes


def _text_headers(headers: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """The headers that are text; the others are not ours to read here (decoding says what is wrong with them)."""
    text = {}
    for name, raw in headers:
        try:
            text[name] = raw.decode()
        except UnicodeDecodeError:
            continue
    return text


def _trace_parent(headers: Mapping[str, str]) -> Context | None:
    """The remote span context in a record's headers; None when absent or invalid.

    ``ce_traceparent`` first; else the plain ``traceparent`` that OpenTelemetry's Kafka instrumentations write,
    so that a border agency's instrumented producer joins the trace too.
    """
    carrier = {w3c: headers[kafka] for w3c, kafka in TRACE_CONTEXT_HEADERS.items() if kafka in headers}
    if "traceparent" not in carrier:
        carrier = {w3c: headers[w3c] for w3c in TRACE_CONTEXT_HEADERS if w3c in headers}
    if "traceparent" not in carrier:
        return None
    context = _W3C.extract(carrier)
    return context if trace.get_current_span(context).get_span_context().is_valid else None
