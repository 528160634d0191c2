"""Read an ePhyto as the IPPC Hub delivers it (SPSCertificate, hub Envelope or ePhytoEnvelope, maybe in SOAP).

Pure and safe: the size is bounded before parsing, DOCTYPE, entity declarations and external references are refused
before anything expands (stdlib expat, which never fetches anything), nesting and element counts are bounded while
parsing, only UTF-8 is read, and the certificate text inside an Envelope's Content goes through the same path.
"""

import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from services.contract.certificate import Certificate
from services.gateway.adapters.ephyto_fields import SPS, CertificateReader, CertificateXmlError, Element
from services.gateway.adapters.safe_xml import UTF8_NAMES, XML_DECLARATION, UnsafeXml, parse

__all__ = ["CertificateXmlError", "HubEnvelope", "ParsedCertificate", "parse_certificate_xml"]

HUB = "http://ephyto.ippc.int/"
HUB_ENTITIES = "http://ephyto.ippc.int/HUB.Entities"
# The WSDL qualifies every hub element; hand-built clients leave the namespace out, which names nothing else.
_HUB_NAMESPACES = (HUB_ENTITIES, HUB, "")
SOAP_NAMESPACES = ("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")
# Elements of type Envelope or ePhytoEnvelope in the WSDL: HUB.Entities:Envelope, and in the service namespace
# ePhytoEnvelope, envelope, DeliverEnvelope/env and PULLSingleImportEnvelopeResponse/PULLSingleImportEnvelopeResult.
_ENVELOPES = {"Envelope", "envelope", "env", "ePhytoEnvelope", "PULLSingleImportEnvelopeResult"}
_WRAPPER_LEVELS = 3  # operation elements between a SOAP Body and the certificate: DeliverPhytoEnvelope...
_NAME_END = re.compile(rb"[\s/>]")


@dataclass(frozen=True)
class HubEnvelope:
    """The IPPC Hub's EnvelopeHeader, as delivered with the certificate."""

    from_country: str | None
    to_country: str | None
    certificate_type: str | None
    certificate_status: str | None
    nppo_certificate_number: str | None
    hub_delivery_number: str | None


@dataclass(frozen=True)
class ParsedCertificate:
    certificate: Certificate
    envelope: HubEnvelope | None
    document: bytes  # the SPSCertificate XML as received, for the gateway's claim check


def _tree(data: bytes, *, max_bytes: int, max_depth: int) -> Element:
    try:
        return parse(data, node=Element, kind="an ePhyto", max_bytes=max_bytes, max_depth=max_depth)
    except UnsafeXml as refused:
        raise CertificateXmlError(str(refused), too_large=refused.too_large) from None


def _is_certificate(element: Element) -> bool:
    return (element.namespace, element.name) == (SPS, "SPSCertificate")


def _is_envelope(element: Element) -> bool:
    return element.name in _ENVELOPES and element.namespace in _HUB_NAMESPACES


def _no_certificate(element: Element) -> CertificateXmlError:
    several = f", holding {len(element.children)} elements: one certificate a request" if element.children[1:] else ""
    return CertificateXmlError(
        f"{element.path()} (line {element.line}): no certificate here ({element.name} in namespace "
        f"{element.namespace or '(none)'!r}{several}); expected an SPSCertificate ({SPS}), a hub Envelope with "
        f"Content or an ePhytoEnvelope ({HUB_ENTITIES} or {HUB}), alone or in a SOAP Body",
        path=element.path(),
    )


def _payload(root: Element) -> Element:
    """The SPSCertificate or hub envelope a document carries, through a SOAP Body and operation elements."""
    if root.name == "Envelope" and root.namespace in SOAP_NAMESPACES:
        bodies = [child for child in root.children if child.name == "Body" and child.namespace == root.namespace]
        if len(bodies) != 1:
            raise CertificateXmlError(f"{root.path()}: a SOAP envelope has one Body; found {len(bodies)}")
        element = bodies[0]
        faults = [child for child in element.children if child.name == "Fault"]
        if faults:
            raise CertificateXmlError(
                f"{faults[0].path()} (line {faults[0].line}): a SOAP Fault carries no certificate"
            )
    elif _is_certificate(root) or _is_envelope(root):
        return root
    elif root.namespace == HUB:  # an operation element (DeliverPhytoEnvelope...) sent without SOAP
        element = root
    else:
        raise _no_certificate(root)
    for _ in range(_WRAPPER_LEVELS):
        if len(element.children) != 1:
            break
        element = element.children[0]
        if _is_certificate(element) or _is_envelope(element):
            return element
    raise _no_certificate(element)


def _header(envelope: Element) -> HubEnvelope:
    def field(name: str) -> str | None:
        found = [c for c in envelope.children if c.name == name and c.namespace in _HUB_NAMESPACES and c.text]
        return found[0].text if found else None

    header = HubEnvelope(
        from_country=field("From"),
        to_country=field("To"),
        certificate_type=field("CertificateType"),
        certificate_status=field("CertificateStatus"),
        nppo_certificate_number=field("NPPOCertificateNumber"),
        hub_delivery_number=field("hubDeliveryNumber"),
    )
    if header.nppo_certificate_number is None:
        raise CertificateXmlError(
            f"{envelope.path()}/NPPOCertificateNumber (line {envelope.line}): required in a hub envelope: "
            "the certificate number (SPSExchangedDocument/ID)",
            path=f"{envelope.path()}/NPPOCertificateNumber",
        )
    return header


def _check_agrees(envelope: Element, header: HubEnvelope, certificate: Certificate) -> None:
    """The hub routes and acknowledges by its header: it must say what the certificate says."""

    def same(left: str, right: str) -> bool:  # the codes are xs:int in the WSDL: 0851 is 851
        return int(left) == int(right) if left.isdigit() and right.isdigit() else left == right

    sender = header.from_country.upper() if header.from_country else None
    pairs = (
        ("NPPOCertificateNumber", header.nppo_certificate_number, "SPSExchangedDocument/ID", certificate.number),
        ("CertificateType", header.certificate_type, "SPSExchangedDocument/TypeCode", certificate.type.value),
        ("CertificateStatus", header.certificate_status, "SPSExchangedDocument/StatusCode", certificate.status.value),
        ("From", sender, "SPSConsignment/ExportSPSCountry/ID", certificate.issuing_country),
    )
    problems = [
        f"{envelope.path()}/{name} is {stated!r} but {where} is {actual!r}"
        for name, stated, where, actual in pairs
        if stated is not None and not same(stated, actual)
    ]
    if problems:
        raise CertificateXmlError(
            f"the hub envelope disagrees with its certificate: {'; '.join(problems)}", path=envelope.path()
        )


def _cut_out(data: bytes, element: Element) -> bytes:
    """An embedded SPSCertificate's own bytes as a document, with the inherited namespace declarations it uses."""
    inherited: dict[str | None, str] = {}
    ancestors = []
    node = element.parent
    while node is not None:
        ancestors.append(node)
        node = node.parent
    for ancestor in reversed(ancestors):
        inherited.update(ancestor.declarations or ())
    used: set[str] = set()
    pending = [element]
    while pending:
        node = pending.pop()
        used.add(node.namespace)
        used.update(name.rpartition("}")[0] for name in node.attributes)
        pending.extend(node.children)
    own = {prefix for prefix, _ in element.declarations or ()}
    missing = "".join(
        f" xmlns{':' + prefix if prefix else ''}={quoteattr(uri)}"
        for prefix, uri in inherited.items()
        if prefix not in own and uri in used
    )
    found = _NAME_END.search(data, element.start + 1)
    name_end = found.start() if found else element.end
    return data[element.start : name_end] + missing.encode() + data[name_end : element.end]


def _as_document(text: str) -> bytes:
    """The certificate text of a Content as UTF-8 bytes: a declared encoding (.NET writes utf-16) no longer holds."""
    data = text.strip().encode()
    declared = XML_DECLARATION.match(data)
    if declared and declared.group(2).decode("ascii", "replace").lower() not in UTF8_NAMES:
        data = data[: declared.start(2)] + b"UTF-8" + data[declared.end(2) :]
    return data


def parse_certificate_xml(data: bytes, *, max_bytes: int = 5_000_000, max_depth: int = 64) -> ParsedCertificate:
    """The Certificate an ePhyto document states, its hub envelope if any and the certificate XML for the record.

    CertificateXmlError says what is wrong and where; its `too_large` is True when the document is over max_bytes.
    """
    root = _tree(data, max_bytes=max_bytes, max_depth=max_depth)
    payload = _payload(root)
    if _is_certificate(payload):
        return _certificate(payload, data if payload is root else _cut_out(data, payload), None, None)
    header = _header(payload)
    embedded = [child for child in payload.children if _is_certificate(child)]
    contents = [c for c in payload.children if c.name == "Content" and c.namespace in _HUB_NAMESPACES and c.text]
    if len(embedded) + len(contents) != 1:
        raise CertificateXmlError(
            f"{payload.path()} (line {payload.line}): a hub envelope carries one certificate, as Content text or an "
            f"SPSCertificate element; found {len(contents)} Content and {len(embedded)} SPSCertificate",
            path=payload.path(),
        )
    if embedded:
        return _certificate(embedded[0], _cut_out(data, embedded[0]), payload, header)
    content = contents[0]
    where = f"{content.path()} (line {content.line})"
    inner = _as_document(content.raw_text)
    try:
        inner_root = _tree(inner, max_bytes=max_bytes, max_depth=max_depth)
    except CertificateXmlError as error:
        raise CertificateXmlError(f"{where}: the certificate text: {error}", path=content.path()) from None
    if not _is_certificate(inner_root):
        raise CertificateXmlError(
            f"{where}: the certificate text holds a {inner_root.name} in namespace {inner_root.namespace!r}; "
            f"expected an SPSCertificate ({SPS})",
            path=content.path(),
        )
    return _certificate(inner_root, inner, payload, header, context=f"in {content.path()}")


def _certificate(
    root: Element, document: bytes, envelope: Element | None, header: HubEnvelope | None, context: str = ""
) -> ParsedCertificate:
    reader = CertificateReader(root, context)
    fields = reader.certificate()
    if header is not None and envelope is not None:
        fields["hub_delivery_number"] = header.hub_delivery_number
        reader.note(("hub_delivery_number",), envelope)
    certificate = reader.build(fields)
    if header is not None and envelope is not None:
        _check_agrees(envelope, header, certificate)
    return ParsedCertificate(certificate=certificate, envelope=header, document=document)
