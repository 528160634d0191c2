"""The ePhyto Hub client's SOAP messages: requests as the Hub's WSDL defines them, answers and faults read, and
a pulled envelope read by the certificate intake's one parser. The fake Hub's answers are checked against the same
WSDL, so that the integration tests pull from something shaped like the Hub."""

import pytest

from services.gateway.adapters.ephyto_xml import HubEnvelope, parse_certificate_xml
from services.gateway.adapters.hub_client import (
    MAX_MESSAGE,
    HubAnswerError,
    HubFault,
    HubUnavailable,
    acknowledge_request,
    failed_request,
    headers_request,
    pull_request,
    read_answer,
    read_headers,
    soap_request,
)
from tests.support import fake_hub
from tests.support.fake_hub import FakeHub, body_element, wsdl_problems
from tests.unit.test_ephyto_xml import ROSES, SAMPLES

WSDL = SAMPLES / "ephyto.wsdl"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
HUB = "{http://ephyto.ippc.int/}"
LIMIT = 5_000_000


def needs_wsdl() -> None:
    if not WSDL.is_file():
        pytest.skip(f"the Hub's WSDL is not at {WSDL} (set SW_SAMPLES to the shared samples folder)")


@pytest.mark.parametrize(
    ("request_body", "operation", "parameters"),
    [
        (headers_request(), "GetImportEnvelopeHeaders", {}),
        (headers_request("AR"), "GetImportEnvelopeHeaders", {"countryCode": "AR"}),
        (pull_request("HUB-1"), "PULLSingleImportEnvelope", {"hubTrackingNumber": "HUB-1"}),
        (acknowledge_request("HUB-1"), "AcknowledgeEnvelopeReceipt", {"hubTrackingNumber": "HUB-1"}),
        (
            failed_request("HUB-1", "SPSExchangedDocument/ID: missing"),
            "AcknowledgeFailedEnvelopeReceipt",
            {"hubTrackingNumber": "HUB-1", "message": "SPSExchangedDocument/ID: missing"},
        ),
    ],
)
def test_requests_are_soap_11_document_literal_with_qualified_parameters(
    request_body: bytes, operation: str, parameters: dict[str, str]
) -> None:
    element = body_element(request_body)
    assert element.tag == f"{HUB}{operation}"
    assert {child.tag: child.text for child in element} == {f"{HUB}{name}": value for name, value in parameters.items()}


@pytest.mark.parametrize(
    "request_body",
    [headers_request(), headers_request("AR"), pull_request("7"), acknowledge_request("7"), failed_request("7", "x")],
)
def test_requests_validate_against_the_schema_embedded_in_the_wsdl(request_body: bytes) -> None:
    needs_wsdl()
    assert wsdl_problems(WSDL, request_body) == []


def test_a_failure_message_carries_only_characters_xml_allows_and_is_bounded() -> None:
    message = body_element(failed_request("7", "bad byte \x01 here " + "x" * 10_000)).find(f"{HUB}message")
    assert message is not None
    assert message.text is not None
    assert message.text.startswith("bad byte  here ")
    assert len(message.text) == MAX_MESSAGE


def test_a_reason_with_markup_is_escaped_not_injected() -> None:
    element = body_element(failed_request("7", "</eph:message><eph:evil/>&"))
    assert [child.tag for child in element] == [f"{HUB}hubTrackingNumber", f"{HUB}message"]


HEADERS_ANSWER = b"""<?xml version="1.0" encoding="UTF-8"?>
<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">
  <S:Body>
    <GetImportEnvelopeHeadersResponse xmlns="http://ephyto.ippc.int/" xmlns:e="http://ephyto.ippc.int/HUB.Entities"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <GetImportEnvelopeHeadersResult>
        <e:EnvelopeHeader>
          <e:From>AR</e:From><e:To>EC</e:To><e:CertificateType>851</e:CertificateType>
          <e:CertificateStatus>70</e:CertificateStatus><e:NPPOCertificateNumber>123ABC</e:NPPOCertificateNumber>
          <e:hubDeliveryNumber>HUB-2026-0042</e:hubDeliveryNumber><e:HUBTrackingInfo>PendingDelivery</e:HUBTrackingInfo>
        </e:EnvelopeHeader>
        <e:EnvelopeHeader xsi:nil="true"/>
        <e:EnvelopeHeader>
          <e:From>NL</e:From><e:To>EC</e:To><e:CertificateType>657</e:CertificateType>
          <e:CertificateStatus>40</e:CertificateStatus><e:NPPOCertificateNumber>NL-1</e:NPPOCertificateNumber>
          <e:hubDeliveryNumber>HUB-2026-0043</e:hubDeliveryNumber>
        </e:EnvelopeHeader>
      </GetImportEnvelopeHeadersResult>
    </GetImportEnvelopeHeadersResponse>
  </S:Body>
</S:Envelope>"""


def test_waiting_headers_are_read_whatever_the_prefixes_and_nil_entries_skipped() -> None:
    answer = read_answer("GetImportEnvelopeHeaders", 200, HEADERS_ANSWER, max_bytes=LIMIT)
    assert read_headers(answer) == [
        HubEnvelope("AR", "EC", "851", "70", "123ABC", "HUB-2026-0042"),
        HubEnvelope("NL", "EC", "657", "40", "NL-1", "HUB-2026-0043"),
    ]


def test_no_waiting_envelopes_is_an_empty_list() -> None:
    empty = fake_hub.response("GetImportEnvelopeHeaders", "")
    assert read_headers(read_answer("GetImportEnvelopeHeaders", 200, empty, max_bytes=LIMIT)) == []


def test_a_soap_fault_is_a_hub_fault_with_its_string_and_the_hub_exception_message() -> None:
    with pytest.raises(HubFault) as caught:
        read_answer(
            "AcknowledgeEnvelopeReceipt", 500, fake_hub.fault("soap:Server", "no such envelope"), max_bytes=LIMIT
        )
    assert caught.value.fault_code == "soap:Server"
    assert caught.value.fault_string == "no such envelope"
    assert caught.value.hub_message == "no such envelope"
    assert "AcknowledgeEnvelopeReceipt" in str(caught.value)
    assert "no such envelope" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "error", "says"),
    [
        (503, b"<html><body>down for maintenance</body></html>", HubUnavailable, "HTTP 503 without a SOAP fault"),
        (502, b"Bad Gateway", HubUnavailable, "HTTP 502, no SOAP answer"),
        (200, b"OK", HubAnswerError, "not a SOAP message"),
        (403, b"", HubAnswerError, "not a SOAP message"),
        (403, fake_hub.response("AcknowledgeEnvelopeReceipt", ""), HubAnswerError, "HTTP 403"),
        (200, fake_hub.response("PULLSingleImportEnvelope", ""), HubAnswerError, "expected one AcknowledgeEnvelope"),
        (200, b"<Envelope/>", HubAnswerError, "not a SOAP Envelope"),
    ],
)
def test_answers_the_wsdl_does_not_describe_are_typed_errors_that_say_why(
    status: int, body: bytes, error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as caught:
        read_answer("AcknowledgeEnvelopeReceipt", status, body, max_bytes=LIMIT)
    assert says in str(caught.value)


def test_an_answer_with_a_doctype_is_refused_before_anything_expands() -> None:
    hostile = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(HubAnswerError, match="DOCTYPE"):
        read_answer("GetImportEnvelopeHeaders", 200, hostile, max_bytes=LIMIT)


def queued_roses(hub: FakeHub) -> str:
    return hub.queue(ROSES.encode(), from_country="NL", to_country="GB", nppo_certificate_number="NL-2026-000123")


def test_a_pulled_envelope_is_read_by_the_certificate_intake() -> None:
    hub = FakeHub()
    number = queued_roses(hub)
    status, answer, _, _ = hub.answer(
        '"http://ephyto.ippc.int/IDeliveryService/PULLSingleImportEnvelope"', pull_request(number)
    )
    assert status == 200
    parsed = parse_certificate_xml(answer)
    assert (parsed.certificate.issuing_country, parsed.certificate.number) == ("NL", "NL-2026-000123")
    assert parsed.certificate.hub_delivery_number == number
    assert parsed.document == ROSES.encode().strip()


def test_the_fake_hub_answers_in_the_shapes_of_the_wsdl() -> None:
    needs_wsdl()
    hub = FakeHub()
    number = queued_roses(hub)
    actions = "http://ephyto.ippc.int/IDeliveryService/"
    exchanges = [
        ("GetImportEnvelopeHeaders", headers_request()),
        ("PULLSingleImportEnvelope", pull_request(number)),
        ("PULLImportEnvelope", soap_request("PULLImportEnvelope")),
        ("AcknowledgeEnvelopeReceipt", acknowledge_request(number)),
        ("AcknowledgeFailedEnvelopeReceipt", failed_request(number, "refused")),
        ("AcknowledgeEnvelopeReceipt", acknowledge_request("no-such-envelope")),  # a fault
    ]
    for operation, request_body in exchanges:
        _, answer, _, _ = hub.answer(f'"{actions}{operation}"', request_body)
        assert wsdl_problems(WSDL, answer) == [], (operation, answer[:500])


def test_the_fake_hub_refuses_a_wrong_soap_action_and_unqualified_parameters() -> None:
    hub = FakeHub()
    status, answer, _, _ = hub.answer('"urn:wrong"', acknowledge_request("1"))
    assert (status, b"SOAPAction" in answer) == (500, True)
    unqualified = acknowledge_request("1").replace(b"eph:hubTrackingNumber", b"hubTrackingNumber")
    action = '"http://ephyto.ippc.int/IDeliveryService/AcknowledgeEnvelopeReceipt"'
    status, answer, _, _ = hub.answer(action, unqualified)
    assert (status, b"qualified" in answer) == (500, True)
