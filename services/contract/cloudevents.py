"""CloudEvents 1.0 in Kafka binary mode: attributes as `ce_*` headers, the event data as the JSON value."""

import functools
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from services.contract.dumped import json_of
from services.contract.events import EVENT_TYPES, Event

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_OUTPUT_NAMESPACE = uuid.UUID("6f1c3a52-93c4-4a2e-9c57-2f1b8d0e7a41")
_NAMESPACE_BYTES = _OUTPUT_NAMESPACE.bytes
TRACE_CONTEXT_HEADERS = {"traceparent": "ce_traceparent", "tracestate": "ce_tracestate"}
"""W3C trace context header -> its Kafka header: the CloudEvents distributed tracing extension in binary mode.

Set when tracing is on (services/contract/tracing.py); they carry the context in which the event was created.
"""


class UndecodableEvent(Exception):
    """A record that is not a CloudEvent of a known type with valid data: it goes to dead letters."""


def output_event_id(input_event_id: str, producer: str, *, discriminator: str = "") -> str:
    """Deterministic id of an event produced in answer to another: a redelivery gives the same id. It is
    `uuid.uuid5` of the name in the project's namespace, made in a third of its time (without a UUID object)."""
    name = f"{input_event_id}|{producer}|{discriminator}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest[:16].hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True)
class Envelope:
    """A CloudEvent: context attributes and the typed data."""

    data: Event
    source: str
    correlation_id: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def type(self) -> str:
        return self.data.type_name()

    def headers(self) -> list[tuple[str, bytes]]:
        return [(name, value.encode()) for name, value in self.attributes()]

    def attributes(self) -> list[tuple[str, str]]:
        """The headers as text (the outbox keeps them so)."""
        return [
            ("ce_specversion", SPEC_VERSION),
            ("ce_id", self.id),
            ("ce_source", self.source),
            ("ce_type", self.type),
            ("ce_time", self.time.isoformat()),
            ("ce_subject", self.data.subject()),
            ("ce_dataschema", self.data.schema_id()),
            ("ce_correlationid", self.correlation_id),
            ("content-type", CONTENT_TYPE),
        ]

    def key(self) -> bytes:
        return self.data.key().encode()

    def value(self) -> bytes:
        return self._value

    @functools.cached_property
    def _value(self) -> bytes:
        """The data's JSON, made once (the outbox row and the audit digest both want it; the data is frozen), with
        that of a value in it dumped already taken from there (a lodged declaration's)."""
        return json_of(self.data)


def decode(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...], value: bytes | None) -> Envelope:
    """Turn a Kafka record back into an Envelope, or say exactly why it cannot be."""
    attributes = {}
    for name, raw in headers:
        try:
            attributes[name] = raw.decode()
        except UnicodeDecodeError as exc:
            if name in TRACE_CONTEXT_HEADERS.values():
                continue  # a mangled trace context costs the event its trace, not its processing
            raise UndecodableEvent(f"header {name!r} is not UTF-8: {exc}") from exc
    missing = [a for a in ("ce_specversion", "ce_id", "ce_source", "ce_type") if a not in attributes]
    if missing:
        raise UndecodableEvent(f"not a CloudEvent: missing header(s) {', '.join(missing)}")
    if attributes["ce_specversion"] != SPEC_VERSION:
        raise UndecodableEvent(f"unsupported ce_specversion {attributes['ce_specversion']!r}, expected 1.0")
    event_type = EVENT_TYPES.get(attributes["ce_type"])
    if event_type is None:
        raise UndecodableEvent(f"unknown ce_type {attributes['ce_type']!r}")
    if value is None:
        raise UndecodableEvent("the record has no value")
    try:
        data = event_type.model_validate_json(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise UndecodableEvent(f"{attributes['ce_type']} data is invalid: {problems}") from exc
    time = _rfc3339(attributes["ce_time"]) if "ce_time" in attributes else datetime.now(UTC)
    return Envelope(
        data=data,
        source=attributes["ce_source"],
        correlation_id=attributes.get("ce_correlationid") or attributes["ce_id"],
        id=attributes["ce_id"],
        time=time,
    )


def _rfc3339(text: str) -> datetime:
    try:
        time = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UndecodableEvent(f"ce_time is not an RFC 3339 time: {text!r}") from exc
    if time.tzinfo is None:
        raise UndecodableEvent(f"ce_time has no UTC offset, as RFC 3339 requires: {text!r}")
    return time
