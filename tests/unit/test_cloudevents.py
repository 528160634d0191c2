"""CloudEvents in Kafka binary mode: envelopes survive the trip, bad records are refused with a reason."""

import json
import uuid
from datetime import UTC

import pytest

from services.contract.cloudevents import Envelope, UndecodableEvent, decode, output_event_id
from services.contract.events import DeclarationSubmitted, Event
from tests.unit.builders import (
    AT,
    agency_decision_made,
    certificate_received,
    clearance_decided,
    declaration_submitted,
)

EVENTS = [
    pytest.param(declaration_submitted(), id="DeclarationSubmitted"),
    pytest.param(certificate_received(), id="CertificateReceived"),
    pytest.param(agency_decision_made(), id="AgencyDecisionMade"),
    pytest.param(clearance_decided(), id="ClearanceDecided"),
]


def envelope(data: Event | None = None) -> Envelope:
    return Envelope(
        data=data or declaration_submitted(), source="gateway", correlation_id="corr-1", id="evt-1", time=AT
    )


def without(headers: list[tuple[str, bytes]], *names: str) -> list[tuple[str, bytes]]:
    return [(name, value) for name, value in headers if name not in names]


def replaced(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [*without(headers, name), (name, value)]


class TestRoundTrip:
    @pytest.mark.parametrize("data", EVENTS)
    def test_envelope_survives_encoding(self, data):
        sent = envelope(data)
        received = decode(sent.headers(), sent.value())
        assert received == sent
        assert (received.id, received.type, received.correlation_id, received.time) == (
            "evt-1",
            data.type_name(),
            "corr-1",
            AT,
        )

    def test_headers_may_come_as_a_tuple(self):
        sent = envelope()
        assert decode(tuple(sent.headers()), sent.value()) == sent

    def test_default_id_and_time_survive(self):
        sent = Envelope(data=declaration_submitted(), source="gateway", correlation_id="corr-1")
        received = decode(sent.headers(), sent.value())
        assert (received.id, received.time) == (sent.id, sent.time)

    def test_headers_carry_subject_and_schema_of_the_data(self):
        headers = dict(envelope().headers())
        assert headers["ce_subject"] == declaration_submitted().key().encode()
        assert headers["ce_dataschema"] == DeclarationSubmitted.schema_id().encode()
        assert headers["content-type"] == b"application/json"

    def test_missing_correlation_id_falls_back_to_the_event_id(self):
        sent = envelope()
        assert decode(without(sent.headers(), "ce_correlationid"), sent.value()).correlation_id == "evt-1"

    def test_time_in_zulu_notation_is_read(self):
        sent = envelope()
        headers = replaced(sent.headers(), "ce_time", b"2026-11-20T10:00:00Z")
        assert decode(headers, sent.value()).time == AT


class TestDefaults:
    def test_time_is_now_in_utc(self):
        assert Envelope(data=declaration_submitted(), source="gateway", correlation_id="c").time.tzinfo is UTC

    def test_ids_are_unique(self):
        first, second = (Envelope(data=declaration_submitted(), source="gateway", correlation_id="c") for _ in "ab")
        assert first.id != second.id


class TestUndecodable:
    def test_missing_attributes_are_named(self):
        sent = envelope()
        with pytest.raises(UndecodableEvent, match="missing header") as raised:
            decode(without(sent.headers(), "ce_id", "ce_type"), sent.value())
        assert "ce_id" in str(raised.value)
        assert "ce_type" in str(raised.value)

    def test_record_without_headers_is_not_a_cloudevent(self):
        with pytest.raises(UndecodableEvent, match="ce_specversion, ce_id, ce_source, ce_type"):
            decode([], envelope().value())

    def test_other_specversion_is_refused(self):
        sent = envelope()
        with pytest.raises(UndecodableEvent, match=r"ce_specversion '0\.3'"):
            decode(replaced(sent.headers(), "ce_specversion", b"0.3"), sent.value())

    def test_unknown_type_is_refused(self):
        sent = envelope()
        with pytest.raises(UndecodableEvent, match=r"unknown ce_type 'org\.singlewindow\.Nope\.v1'"):
            decode(replaced(sent.headers(), "ce_type", b"org.singlewindow.Nope.v1"), sent.value())

    def test_next_major_version_is_an_unknown_type(self):
        sent = envelope()
        with pytest.raises(UndecodableEvent, match="unknown ce_type"):
            decode(replaced(sent.headers(), "ce_type", b"org.singlewindow.DeclarationSubmitted.v2"), sent.value())

    def test_header_that_is_not_utf8_is_refused(self):
        sent = envelope()
        with pytest.raises(UndecodableEvent, match="not UTF-8"):
            decode(replaced(sent.headers(), "ce_source", b"\xff\xfe"), sent.value())

    def test_record_without_value_is_refused(self):
        with pytest.raises(UndecodableEvent, match="no value"):
            decode(envelope().headers(), None)

    def test_value_that_is_not_json_is_refused(self):
        with pytest.raises(UndecodableEvent, match=r"DeclarationSubmitted\.v1 data is invalid: \(root\): Invalid JSON"):
            decode(envelope().headers(), b"{not json")

    def test_invalid_data_names_the_field_path(self):
        data = json.loads(envelope().value())
        data["declaration"]["goods_items"][0]["commodity_code"] = "0603"
        with pytest.raises(UndecodableEvent, match=r"declaration\.goods_items\.0\.commodity_code"):
            decode(envelope().headers(), json.dumps(data).encode())

    def test_data_of_another_event_type_is_refused(self):
        with pytest.raises(UndecodableEvent, match="data is invalid"):
            decode(envelope().headers(), envelope(clearance_decided()).value())

    @pytest.mark.parametrize(
        "time",
        [
            pytest.param(b"yesterday", id="words"),
            pytest.param(b"2026-13-01T00:00:00+00:00", id="month-13"),
            pytest.param(b"2026-11-20T10:00:00", id="no-offset"),
        ],
    )
    def test_time_that_is_not_rfc3339_is_refused(self, time):
        sent = envelope()
        with pytest.raises(UndecodableEvent, match="ce_time"):
            decode(replaced(sent.headers(), "ce_time", time), sent.value())


class TestOutputEventId:
    def test_same_input_gives_the_same_id(self):
        assert output_event_id("evt-1", "phyto") == output_event_id("evt-1", "phyto")

    def test_is_a_uuid(self):
        assert uuid.UUID(output_event_id("evt-1", "phyto")).version == 5

    @pytest.mark.parametrize(
        ("other_input", "other_producer", "other_discriminator"),
        [("evt-2", "phyto", ""), ("evt-1", "customs", ""), ("evt-1", "phyto", "01JD-B")],
    )
    def test_differs_by_input_producer_and_discriminator(self, other_input, other_producer, other_discriminator):
        first = output_event_id("evt-1", "phyto", discriminator="")
        other = output_event_id(other_input, other_producer, discriminator=other_discriminator)
        assert first != other

    def test_each_declaration_answered_for_one_certificate_gets_its_own_id(self):
        ids = {output_event_id("evt-1", "phyto", discriminator=d) for d in ("01JD-A", "01JD-B", "01JD-C")}
        assert len(ids) == 3
