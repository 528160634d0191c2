"""A small IPPC ePhyto Hub on loopback, for the gateway's Hub client to pull from: the importing side of the
DeliveryService (GetImportEnvelopeHeaders, PULLSingleImportEnvelope, PULLImportEnvelope, AcknowledgeEnvelopeReceipt,
AcknowledgeFailedEnvelopeReceipt) over SOAP 1.1, in the message shapes of the Hub's WSDL, written from the WSDL and not
from the gateway's code. It holds queued envelopes, records every call and acknowledgement, and answers with an
injected fault, server error, dropped connection or delay when a test asks for one.
"""

import functools
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from xml.sax.saxutils import escape

import xmlschema

from tests.support.loopback import QuietHandler, http_server

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
HUB = "http://ephyto.ippc.int/"
HUB_ENTITIES = "http://ephyto.ippc.int/HUB.Entities"
ACTIONS = "http://ephyto.ippc.int/IDeliveryService/"
OPERATIONS = (
    "GetImportEnvelopeHeaders",
    "PULLSingleImportEnvelope",
    "PULLImportEnvelope",
    "AcknowledgeEnvelopeReceipt",
    "AcknowledgeFailedEnvelopeReceipt",
)


class Tracking(StrEnum):
    """The WSDL's HUBTrackingInfo values this fake uses."""

    PENDING = "PendingDelivery"
    DELIVERED = "Delivered"
    FAILED = "FailedDelivery"


class Trouble(StrEnum):
    FAULT = "fault"  # a SOAP Fault carrying a HubWebException, HTTP 500 as SOAP 1.1 says
    SERVER_ERROR = "server_error"  # HTTP 500 with an HTML page, as a proxy in front of the Hub would answer
    DROP = "drop"  # the connection closed without an answer
    SLOW = "slow"  # the right answer, late


@dataclass
class QueuedEnvelope:
    hub_delivery_number: str
    from_country: str
    to_country: str
    certificate_type: int
    certificate_status: int
    nppo_certificate_number: str
    content: str
    """The certificate XML, carried as the Envelope's Content text."""
    tracking: Tracking = Tracking.PENDING
    error_message: str | None = None


@dataclass(frozen=True)
class Call:
    operation: str
    soap_action: str
    request: bytes
    status: int
    answer: bytes
    at: float  # time.monotonic() when answered


@dataclass
class FakeHub:
    url: str = ""
    envelopes: dict[str, QueuedEnvelope] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(hubDeliveryNumber, message) of each AcknowledgeFailedEnvelopeReceipt."""
    on_acknowledge: Callable[[str], bool] | None = None
    """Called (in the server's thread) before an acknowledgement is recorded; what it returns is kept as evidence."""
    evidence: dict[str, list[bool]] = field(default_factory=dict)
    troubles: dict[str, list[tuple[Trouble, float]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: int = 0

    def queue(
        self,
        certificate: bytes,
        *,
        from_country: str,
        to_country: str,
        nppo_certificate_number: str,
        certificate_type: int = 851,
        certificate_status: int = 70,
        hub_delivery_number: str | None = None,
    ) -> str:
        """Queue an envelope for the importing NPPO; its hubDeliveryNumber."""
        with self.lock:
            self._numbers += 1
            number = hub_delivery_number or f"HUB-TEST-{self._numbers:06d}"
            self.envelopes[number] = QueuedEnvelope(
                number,
                from_country,
                to_country,
                certificate_type,
                certificate_status,
                nppo_certificate_number,
                certificate.decode(),
            )
            return number

    def offer_again(self, number: str) -> None:
        """Put a delivered envelope back in the queue, as the Hub does when it redelivers."""
        with self.lock:
            self.envelopes[number].tracking = Tracking.PENDING

    def inject(self, operation: str, trouble: Trouble, *, times: int = 1, delay: float = 0.0) -> None:
        """The next `times` calls of `operation` meet `trouble` (SLOW: answered after `delay` seconds)."""
        assert operation in OPERATIONS, operation
        with self.lock:
            self.troubles.setdefault(operation, []).extend([(trouble, delay)] * times)

    def tracking(self, number: str) -> Tracking:
        with self.lock:
            return self.envelopes[number].tracking

    def waiting(self) -> list[str]:
        with self.lock:
            return [n for n, envelope in self.envelopes.items() if envelope.tracking is Tracking.PENDING]

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def calls_of(self, operation: str) -> list[Call]:
        return [call for call in self.snapshot() if call.operation == operation]

    # --- answering, per the WSDL ---

    def answer(self, soap_action: str, request: bytes) -> tuple[int, bytes, Trouble | None, float]:
        try:
            operation, parameters = _operation(request)
        except ValueError as exc:
            return 500, fault("soap:Client", str(exc)), None, 0.0
        with self.lock:
            queued = self.troubles.get(operation) or []
            trouble, delay = queued.pop(0) if queued else (None, 0.0)
        if soap_action.strip('"') != ACTIONS + operation:
            status, body = 500, fault("soap:Client", f"SOAPAction {soap_action!r} is not {ACTIONS + operation!r}")
        elif trouble is Trouble.FAULT:
            status, body = 500, fault("soap:Server", f"injected failure of {operation}")
        elif trouble is Trouble.DROP:
            status, body = 0, b""  # nothing done, nothing answered
        elif trouble is Trouble.SERVER_ERROR:
            status, body = 500, b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        else:
            status, body = self._perform(operation, parameters)
        with self.lock:
            self.calls.append(Call(operation, soap_action, request, status, body, time.monotonic()))
        return status, body, trouble, delay

    def _perform(self, operation: str, parameters: dict[str, str]) -> tuple[int, bytes]:
        if operation == "GetImportEnvelopeHeaders":
            country = parameters.get("countryCode")
            with self.lock:
                waiting = [
                    e
                    for e in self.envelopes.values()
                    if e.tracking is Tracking.PENDING and (country is None or e.from_country == country)
                ]
                headers = "".join(f"<hub:EnvelopeHeader>{_header(e)}</hub:EnvelopeHeader>" for e in waiting)
            return 200, response(
                operation, f"<eph:GetImportEnvelopeHeadersResult>{headers}</eph:GetImportEnvelopeHeadersResult>"
            )
        if operation == "PULLImportEnvelope":
            with self.lock:
                pulled = [e for e in self.envelopes.values() if e.tracking is Tracking.PENDING]
                envelopes = "".join(f"<hub:Envelope>{_header(e)}{_content(e)}</hub:Envelope>" for e in pulled)
            return 200, response(
                operation, f"<eph:PULLImportEnvelopesResult>{envelopes}</eph:PULLImportEnvelopesResult>"
            )
        number = parameters.get("hubTrackingNumber")
        if number is None:
            return 500, fault("soap:Client", f"{operation}: hubTrackingNumber ({HUB}) is required")
        with self.lock:
            envelope = self.envelopes.get(number)
        if operation == "PULLSingleImportEnvelope":
            if envelope is None:
                return 200, response(operation, "")
            result = f"{_header(envelope)}{_content(envelope)}"
            return 200, response(
                operation, f"<eph:PULLSingleImportEnvelopeResult>{result}</eph:PULLSingleImportEnvelopeResult>"
            )
        if envelope is None:
            return 500, fault("soap:Server", f"envelope {number} does not exist")
        if operation == "AcknowledgeEnvelopeReceipt":
            proof = self.on_acknowledge(number) if self.on_acknowledge is not None else True
            with self.lock:
                self.evidence.setdefault(number, []).append(proof)
                envelope.tracking = Tracking.DELIVERED
                self.acknowledged.append(number)
            return 200, response(operation, "")
        message = parameters.get("message")
        if message is None:
            return 500, fault("soap:Client", f"{operation}: message ({HUB}) is required")
        with self.lock:
            envelope.tracking, envelope.error_message = Tracking.FAILED, message
            self.failures.append((number, message))
        return 200, response(operation, f"<eph:return>{Tracking.FAILED.value}</eph:return>")


def _operation(request: bytes) -> tuple[str, dict[str, str]]:
    """The operation a SOAP 1.1 request calls and its parameters: qualified, in the service namespace."""
    root = ET.fromstring(request)
    if root.tag != f"{{{SOAP11}}}Envelope":
        raise ValueError(f"not a SOAP 1.1 Envelope: {root.tag}")
    body = root.find(f"{{{SOAP11}}}Body")
    if body is None or len(body) != 1:
        raise ValueError("a SOAP Body with one operation element is required")
    element = body[0]
    namespace, _, name = element.tag[1:].partition("}")
    if namespace != HUB or name not in OPERATIONS:
        raise ValueError(f"unknown operation {element.tag}")
    parameters = {}
    for child in element:
        child_namespace, _, child_name = child.tag[1:].partition("}")
        if child_namespace != HUB:
            raise ValueError(f"{name}: parameter {child.tag} is not in {HUB} (the WSDL's schema is qualified)")
        parameters[child_name] = child.text or ""
    return name, parameters


def _header(envelope: QueuedEnvelope) -> str:
    """EnvelopeHeader's sequence, in the WSDL's order."""
    fields = [
        ("From", envelope.from_country),
        ("To", envelope.to_country),
        ("CertificateType", str(envelope.certificate_type)),
        ("CertificateStatus", str(envelope.certificate_status)),
        ("NPPOCertificateNumber", envelope.nppo_certificate_number),
        ("hubDeliveryNumber", envelope.hub_delivery_number),
        ("HUBTrackingInfo", envelope.tracking.value),
    ]
    if envelope.error_message:
        fields.append(("hubDeliveryErrorMessage", envelope.error_message))
    return "".join(f"<hub:{name}>{escape(value)}</hub:{name}>" for name, value in fields)


def _content(envelope: QueuedEnvelope) -> str:
    return f"<hub:Content>{escape(envelope.content)}</hub:Content>"


def response(operation: str, inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP11}"><soap:Body>'
        f'<eph:{operation}Response xmlns:eph="{HUB}" xmlns:hub="{HUB_ENTITIES}">{inner}</eph:{operation}Response>'
        "</soap:Body></soap:Envelope>"
    ).encode()


def fault(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault whose detail is the WSDL's HubWebException."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><soap:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        f'<detail><eph:HubWebException xmlns:eph="{HUB}"><eph:message>{escape(message)}</eph:message>'
        "</eph:HubWebException></detail></soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


@functools.cache
def wsdl_schema(wsdl: Path) -> xmlschema.XMLSchema:
    """The XML Schema embedded in the Hub's WSDL (seven schema elements, one per namespace), for the messages."""
    sources = re.findall(r"<xs:schema\b.*?</xs:schema>", wsdl.read_text(encoding="utf-8"), re.S)
    service = [source for source in sources if f'targetNamespace="{HUB}"' in source]
    return xmlschema.XMLSchema(service + [source for source in sources if source not in service])


def body_element(message: bytes) -> ET.Element:
    """The one element in a SOAP 1.1 message's Body: what the WSDL's schema describes."""
    body = ET.fromstring(message).find(f"{{{SOAP11}}}Body")
    assert body is not None, message[:300]
    assert len(body) == 1, message[:300]
    return body[0]


def wsdl_problems(wsdl: Path, message: bytes) -> list[str]:
    """What the WSDL's schema finds wrong with a SOAP message's Body element (a fault's HubWebException detail)."""
    element = body_element(message)
    if element.tag == f"{{{SOAP11}}}Fault":
        detail = element.find("detail")
        assert detail is not None, message[:300]
        assert len(detail) == 1, message[:300]
        element = detail[0]
    return [error.reason or str(error) for error in wsdl_schema(wsdl).iter_errors(element)]


@contextmanager
def fake_hub() -> Iterator[FakeHub]:
    hub = FakeHub()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            request = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, body, trouble, delay = hub.answer(self.headers.get("SOAPAction", ""), request)
            if trouble is Trouble.DROP:
                self.close_connection = True
                self.connection.close()
                return
            if trouble is Trouble.SLOW:
                time.sleep(delay)  # the behaviour under test: a Hub slower than the client's timeout
            content_type = "text/html" if trouble is Trouble.SERVER_ERROR else "text/xml; charset=utf-8"
            try:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped waiting (a slow answer past its timeout)

    with http_server(Handler, "fake-ephyto-hub") as base:
        hub.url = f"{base}/hub/DeliveryService"
        yield hub
