"""The IPPC ePhyto Hub's DeliveryService as an importing NPPO uses it: list the envelopes waiting, pull one,
acknowledge it, or report that it failed. SOAP 1.1 document/literal over httpx, with the element names, namespaces
and SOAPActions of the Hub's WSDL; answers are read with the gateway's safe XML parser; the Hub knows the NPPO by
its client TLS certificate.
"""

import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import httpx

from services.gateway.adapters.ephyto_xml import HUB, HUB_ENTITIES, SOAP_NAMESPACES, HubEnvelope
from services.gateway.adapters.safe_xml import Node, UnsafeXml, parse

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
ACTIONS = "http://ephyto.ippc.int/IDeliveryService/"  # soap:operation soapAction = this + the operation's name
# The WSDL qualifies every element (the service's schema is elementFormDefault="qualified", the entities' fields
# form="qualified"); answers are read leniently, as the intake reads envelopes: a field without a namespace counts.
_READ_NAMESPACES = (HUB, HUB_ENTITIES, "")
_NOT_XML_CHARACTERS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XSI_NIL = "http://www.w3.org/2001/XMLSchema-instance}nil"  # as the parser names attributes: namespace}name
MAX_MESSAGE = 4000  # characters of a failure message sent to the Hub: the reason, not a document
MAX_DEPTH = 64

GET_IMPORT_ENVELOPE_HEADERS = "GetImportEnvelopeHeaders"
PULL_SINGLE_IMPORT_ENVELOPE = "PULLSingleImportEnvelope"
ACKNOWLEDGE_ENVELOPE_RECEIPT = "AcknowledgeEnvelopeReceipt"
ACKNOWLEDGE_FAILED_ENVELOPE_RECEIPT = "AcknowledgeFailedEnvelopeReceipt"


class HubError(Exception):
    """A Hub call that did not do what was asked: the message names the operation and says why."""

    def __init__(self, operation: str, message: str) -> None:
        super().__init__(f"ePhyto Hub {operation}: {message}")
        self.operation = operation


class HubUnavailable(HubError):
    """No answer (refused, timed out, TLS failed) or a server error without a SOAP fault: retry later."""


class HubFault(HubError):
    """The Hub answered with a SOAP Fault (its HubWebException): `fault_string` and the exception's message say why."""

    def __init__(self, operation: str, fault_code: str, fault_string: str, hub_message: str | None) -> None:
        said = fault_string + (f" ({hub_message})" if hub_message and hub_message != fault_string else "")
        super().__init__(operation, f"SOAP fault {fault_code or '(no code)'}: {said or '(no fault string)'}")
        self.fault_code = fault_code
        self.fault_string = fault_string
        self.hub_message = hub_message


class HubAnswerError(HubError):
    """The Hub answered, but not as its WSDL says (not a SOAP envelope, another element, a refusal without fault)."""


@dataclass(slots=True, eq=False)
class SoapElement(Node["SoapElement"]):
    """An element of a SOAP message from the Hub."""

    @property
    def text(self) -> str:
        return self.raw_text.strip()

    def named(self, name: str, namespaces: Sequence[str] = _READ_NAMESPACES) -> list["SoapElement"]:
        return [child for child in self.children if child.name == name and child.namespace in namespaces]

    def field(self, name: str) -> str | None:
        found = [child.text for child in self.named(name) if child.text]
        return found[0] if found else None


@dataclass(frozen=True)
class PulledEnvelope:
    hub_delivery_number: str
    document: bytes
    """The SOAP answer exactly as the Hub sent it: what the certificate intake reads, and what a dead letter keeps."""


def soap_request(operation: str, parameters: Sequence[tuple[str, str]] = ()) -> bytes:
    """A SOAP 1.1 request of `operation` (document/literal): its element and parameters, in order, all in the
    service namespace, as the WSDL's qualified schema has them."""
    fields = "".join(f"<eph:{name}>{escape(_xml_text(value))}</eph:{name}>" for name, value in parameters)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP11}" xmlns:eph="{HUB}"><soap:Body>'
        f"<eph:{operation}>{fields}</eph:{operation}>"
        "</soap:Body></soap:Envelope>"
    ).encode()


def _xml_text(value: str) -> str:
    """Text XML 1.0 can carry: control characters (from a broken document quoted in a reason) dropped."""
    return _NOT_XML_CHARACTERS.sub("", value)


def headers_request(country_code: str | None = None) -> bytes:
    return soap_request(GET_IMPORT_ENVELOPE_HEADERS, [("countryCode", country_code)] if country_code else [])


def pull_request(hub_delivery_number: str) -> bytes:
    return soap_request(PULL_SINGLE_IMPORT_ENVELOPE, [("hubTrackingNumber", hub_delivery_number)])


def acknowledge_request(hub_delivery_number: str) -> bytes:
    return soap_request(ACKNOWLEDGE_ENVELOPE_RECEIPT, [("hubTrackingNumber", hub_delivery_number)])


def failed_request(hub_delivery_number: str, message: str) -> bytes:
    message = _xml_text(message)
    shortened = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
    return soap_request(
        ACKNOWLEDGE_FAILED_ENVELOPE_RECEIPT, [("hubTrackingNumber", hub_delivery_number), ("message", shortened)]
    )


def _fault(operation: str, fault: SoapElement) -> HubFault:
    """SOAP 1.1 (faultcode, faultstring, detail) or 1.2 (Code/Value, Reason/Text); the HubWebException's message."""

    def text(element: SoapElement | None, *path: str) -> str:
        for name in path:
            found = [c for c in element.children if c.name == name] if element is not None else []
            element = found[0] if found else None
        return element.text if element is not None else ""

    code = text(fault, "faultcode") or text(fault, "Code", "Value")
    string = text(fault, "faultstring") or text(fault, "Reason", "Text")
    message = text(fault, "detail", "HubWebException", "message") or text(fault, "Detail", "HubWebException", "message")
    return HubFault(operation, code, string, message or None)


def read_answer(operation: str, status_code: int, data: bytes, *, max_bytes: int) -> SoapElement:
    """The `<operation>Response` element of a Hub answer; HubFault for a SOAP Fault (whatever the HTTP status),
    HubUnavailable for a server error without one, HubAnswerError for anything else the WSDL does not describe."""
    try:
        root = parse(data, node=SoapElement, kind="a Hub answer", max_bytes=max_bytes, max_depth=MAX_DEPTH)
    except UnsafeXml as refused:
        if status_code >= 500:
            raise HubUnavailable(operation, f"HTTP {status_code}, no SOAP answer") from None
        raise HubAnswerError(operation, f"HTTP {status_code}, the answer is not a SOAP message: {refused}") from None
    if root.name != "Envelope" or root.namespace not in SOAP_NAMESPACES:
        if status_code >= 500:
            raise HubUnavailable(operation, f"HTTP {status_code} without a SOAP fault")
        raise HubAnswerError(
            operation, f"HTTP {status_code}, the answer is a {root.name} in {root.namespace!r}, not a SOAP Envelope"
        )
    bodies = root.named("Body", (root.namespace,))
    payload = bodies[0].children if len(bodies) == 1 else []
    faults = [child for child in payload if child.name == "Fault" and child.namespace == root.namespace]
    if faults:
        raise _fault(operation, faults[0])
    if status_code >= 500:
        raise HubUnavailable(operation, f"HTTP {status_code} without a SOAP fault")
    if status_code != 200:
        raise HubAnswerError(operation, f"HTTP {status_code}: the Hub refused the request")
    expected = f"{operation}Response"
    answers = [child for child in payload if child.name == expected and child.namespace in _READ_NAMESPACES]
    if len(answers) != 1:
        found = ", ".join(f"{{{c.namespace}}}{c.name}" for c in payload) or "nothing"
        raise HubAnswerError(operation, f"expected one {expected} ({HUB}) in the SOAP Body; found {found}")
    return answers[0]


def _header(element: SoapElement) -> HubEnvelope:
    return HubEnvelope(
        from_country=element.field("From"),
        to_country=element.field("To"),
        certificate_type=element.field("CertificateType"),
        certificate_status=element.field("CertificateStatus"),
        nppo_certificate_number=element.field("NPPOCertificateNumber"),
        hub_delivery_number=element.field("hubDeliveryNumber"),
    )


def read_headers(answer: SoapElement) -> list[HubEnvelope]:
    """GetImportEnvelopeHeadersResponse/GetImportEnvelopeHeadersResult: an ArrayOfEnvelopeHeader (maybe absent)."""
    return [
        _header(header)
        for result in answer.named("GetImportEnvelopeHeadersResult")
        for header in result.named("EnvelopeHeader")
        if header.attributes.get(_XSI_NIL) not in ("true", "1")
    ]


def tls_context(
    *, cafile: Path | None = None, certfile: Path | None = None, keyfile: Path | None = None
) -> ssl.SSLContext:
    """Verifies the Hub against `cafile` (else the system's CAs) and presents our client certificate, if given."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if certfile is not None:
        context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    return context


class HubClient:
    """One NPPO's calls to the Hub's DeliveryService at `url`."""

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float,
        tls: ssl.SSLContext | None = None,
        max_answer_bytes: int = 10_000_000,
    ) -> None:
        self.url = url
        self._timeout = timeout_seconds
        self._max_bytes = max_answer_bytes
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, verify=tls or True, follow_redirects=False, trust_env=False
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def waiting_envelopes(self, country_code: str | None = None) -> list[HubEnvelope]:
        """GetImportEnvelopeHeaders: the headers of the envelopes waiting for this NPPO."""
        return read_headers(await self._call(GET_IMPORT_ENVELOPE_HEADERS, headers_request(country_code)))

    async def pull(self, hub_delivery_number: str) -> PulledEnvelope | None:
        """PULLSingleImportEnvelope: the envelope with its certificate; None when the Hub has no such envelope."""
        answer, data = await self._exchange(PULL_SINGLE_IMPORT_ENVELOPE, pull_request(hub_delivery_number))
        results = [r for r in answer.named("PULLSingleImportEnvelopeResult") if r.children]
        return PulledEnvelope(hub_delivery_number, data) if results else None

    async def acknowledge(self, hub_delivery_number: str) -> None:
        """AcknowledgeEnvelopeReceipt: the envelope is taken; the Hub marks it delivered."""
        await self._call(ACKNOWLEDGE_ENVELOPE_RECEIPT, acknowledge_request(hub_delivery_number))

    async def report_failure(self, hub_delivery_number: str, message: str) -> str | None:
        """AcknowledgeFailedEnvelopeReceipt: the envelope could not be taken, and why; the Hub's `return` text."""
        answer = await self._call(ACKNOWLEDGE_FAILED_ENVELOPE_RECEIPT, failed_request(hub_delivery_number, message))
        return answer.field("return")

    async def _call(self, operation: str, request: bytes) -> SoapElement:
        return (await self._exchange(operation, request))[0]

    async def _exchange(self, operation: str, request: bytes) -> tuple[SoapElement, bytes]:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ACTIONS}{operation}"'}
        try:
            async with self._client.stream("POST", self.url, content=request, headers=headers) as response:
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > self._max_bytes:
                        raise HubAnswerError(operation, f"the answer is over {self._max_bytes} bytes")
                status = response.status_code
        except httpx.TimeoutException as exc:
            raise HubUnavailable(operation, f"no answer within {self._timeout:g} s ({type(exc).__name__})") from exc
        except (httpx.TransportError, ssl.SSLError, OSError) as exc:
            raise HubUnavailable(operation, f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        except httpx.InvalidURL as exc:
            raise HubAnswerError(operation, f"{self.url!r} is not a URL the client can call: {exc}") from exc
        return read_answer(operation, status, bytes(data), max_bytes=self._max_bytes), bytes(data)
