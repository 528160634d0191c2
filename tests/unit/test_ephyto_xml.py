"""ePhyto XML as the IPPC Hub delivers it: the real samples, every envelope form, missing fields, hostile documents.

The samples stay in ../shared/samples (outside the project); their tests skip, saying why, when it is absent.
"""

import dataclasses
import os
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from services.contract.certificate import Certificate, CertificateStatus, CertificateType
from services.gateway.adapters.ephyto_xml import CertificateXmlError, HubEnvelope, parse_certificate_xml
from tests.unit import ephyto_attacks as attacks

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("SW_SAMPLES", ROOT.parent / "shared" / "samples")) / "ephyto"

SPS = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"
HUB = "http://ephyto.ippc.int/"
HUB_ENTITIES = "http://ephyto.ippc.int/HUB.Entities"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"real ePhyto sample {path} is absent (set SW_SAMPLES to the shared samples folder)")
    return path.read_bytes()


def norwegian() -> bytes:
    """Mattilsynet's test ePhyto: a bare SPSCertificate, Argentina to Ecuador, 221 KB of attachments."""
    return sample("SPSCertificateContent.xml")


def refused(data: bytes, **limits: int) -> CertificateXmlError:
    with pytest.raises(CertificateXmlError) as caught:
        parse_certificate_xml(data, **limits)
    return caught.value


# Our own cut-roses ePhyto (Netherlands to the UK), small enough to edit per test; two line items so that paths
# show positions.
ROSES = f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:SPSCertificate xmlns:rsm="{SPS}" xmlns:ram="{RAM}" xmlns:udt="{UDT}">
  <rsm:SPSExchangedDocument>
    <ram:ID>NL-2026-000123</ram:ID>
    <ram:TypeCode>851</ram:TypeCode>
    <ram:StatusCode>70</ram:StatusCode>
    <ram:IssueDateTime><udt:DateTimeString>2026-11-20T09:30:00+01:00</udt:DateTimeString></ram:IssueDateTime>
    <ram:IssuerSPSParty><ram:Name>NVWA</ram:Name></ram:IssuerSPSParty>
  </rsm:SPSExchangedDocument>
  <rsm:SPSConsignment>
    <ram:ConsignorSPSParty><ram:Name>Bloemen Export BV</ram:Name></ram:ConsignorSPSParty>
    <ram:ConsigneeSPSParty><ram:Name>Roses Import Ltd</ram:Name></ram:ConsigneeSPSParty>
    <ram:ExportSPSCountry><ram:ID>NL</ram:ID></ram:ExportSPSCountry>
    <ram:ImportSPSCountry><ram:ID>GB</ram:ID></ram:ImportSPSCountry>
    <ram:IncludedSPSConsignmentItem>
      <ram:IncludedSPSTradeLineItem>
        <ram:SequenceNumeric>1</ram:SequenceNumeric>
        <ram:ScientificName>Rosa</ram:ScientificName>
        <ram:NetWeightMeasure unitCode="KGM">1200</ram:NetWeightMeasure>
        <ram:ApplicableSPSClassification>
          <ram:SystemName>HS</ram:SystemName><ram:ClassCode>060311</ram:ClassCode>
        </ram:ApplicableSPSClassification>
        <ram:OriginSPSCountry><ram:ID>NL</ram:ID></ram:OriginSPSCountry>
      </ram:IncludedSPSTradeLineItem>
      <ram:IncludedSPSTradeLineItem>
        <ram:SequenceNumeric>2</ram:SequenceNumeric>
        <ram:Description>Tulip bulbs</ram:Description>
        <ram:ScientificName>Tulipa</ram:ScientificName>
        <ram:OriginSPSCountry><ram:ID>NL</ram:ID></ram:OriginSPSCountry>
      </ram:IncludedSPSTradeLineItem>
    </ram:IncludedSPSConsignmentItem>
  </rsm:SPSConsignment>
</rsm:SPSCertificate>
"""


def roses(*edits: tuple[str, str]) -> bytes:
    """The roses certificate with each (old, new) edit made once; an edit that no longer applies fails loudly."""
    text = ROSES
    for old, new in edits:
        assert text.count(old) >= 1, f"edit does not apply: {old!r}"
        text = text.replace(old, new, 1)
    return text.encode()


SECOND_ITEM = "IncludedSPSConsignmentItem/IncludedSPSTradeLineItem[2]"


class TestRealSamples:
    def test_norwegian_sample_is_an_issued_phytosanitary_certificate_from_argentina_to_ecuador(self):
        certificate = parse_certificate_xml(norwegian()).certificate
        assert certificate.number == "123ABC"
        assert certificate.type is CertificateType.PHYTOSANITARY
        assert certificate.status is CertificateStatus.ISSUED
        assert (certificate.issuing_country, certificate.importing_country) == ("AR", "EC")
        assert certificate.issued_at == datetime(2016, 4, 22, 13, 53, 8, tzinfo=timezone(timedelta(hours=-3)))
        assert certificate.issued_on == date(2016, 4, 22)
        assert certificate.issuer_name == "Servicio Nacional de Sanidad y Calida Agroalimentaria"
        assert certificate.consignor.name == "Juan Perez"
        assert certificate.consignor.national_registration_number == "98543210"
        assert certificate.consignee.name == "Importer SA"
        assert certificate.consignee.address is not None
        assert certificate.consignee.address.country_code == "EC"
        assert certificate.point_of_entry == "USSEA"
        assert certificate.hub_delivery_number is None

    def test_norwegian_sample_line_items_carry_origins_hs_code_and_quantities(self):
        first, second = parse_certificate_xml(norwegian()).certificate.line_items
        assert (first.sequence, second.sequence) == (0, 1)
        assert first.scientific_name == second.scientific_name == "Ribes"
        assert first.common_name == "Ribes"
        assert first.intended_use == "Planting"
        assert first.origin_countries == second.origin_countries == ["AR", "US"]
        assert first.commodity_code == "06029048"
        assert second.commodity_code is None  # an HS classification with no ClassCode
        assert first.net_quantity is not None
        assert (first.net_quantity.value, first.net_quantity.unit) == (Decimal(10), "KGM")
        assert second.net_quantity is None
        assert first.description is not None
        assert first.description.startswith("LIVE TREES AND OTHER PLANTS; BULBS")
        assert "  " not in first.description  # the multi-line text is one line
        assert [(p.level_code, p.type_code, p.quantity) for p in first.packages] == [
            ("1", "BG", Decimal("100")),
            ("2", "BX", Decimal("20")),
        ]
        assert [(c.system_name, c.class_name) for c in first.classifications[1:]] == [
            ("IPPCPCVP", "Seeds"),
            ("IPPCPCC", "Fresh"),
            ("IPPCPCC", "Rooted"),
        ]

    def test_norwegian_sample_treatment_is_read_with_its_characteristics(self):
        treatment = parse_certificate_xml(norwegian()).certificate.line_items[0].treatments[0]
        assert treatment.type_code == "ZZZ"
        values = [(c.code, c.value) for c in treatment.characteristics]
        assert values[0] == (
            "TTFT",
            "Type : Systems approach , Additional Information : No additional information available",
        )
        assert ("TTCH", "238") in values
        assert ("TTCH", "240") in values
        assert ("TTCO", "2.5 KX") in values
        assert ("TTTM", "32.0000 CEL") in values
        assert (treatment.start_date, treatment.end_date, treatment.duration) == (
            date(2016, 4, 12),
            date(2016, 4, 12),
            "3.0000 HUR",
        )
        assert [(n.subject, n.content) for n in treatment.additional_information] == [("DMTLIL", "Lot number 8888")]

    def test_norwegian_sample_notes_replacement_signatory_and_transport(self):
        certificate = parse_certificate_xml(norwegian()).certificate
        declarations = [(n.content, n.language_id) for n in certificate.notes if n.subject == "ADEDL"]
        assert declarations == [
            ("Phyllocnistiscitrella is absent in Argentina", "en"),
            ("The shipment was inspected and found free of Trogoderma variable.", "nn"),
        ]
        assert certificate.replaced_certificate_number == "3214356"
        assert certificate.replacement_reason == "change in consignee"
        assert certificate.signatory is not None
        assert certificate.signatory.issue_location == "La Plata, Buenos Aires"
        assert certificate.signatory.person_name == "Miguel Perrerra"
        assert (certificate.signatory.signed_at, certificate.signatory.signed_on) == (None, None)  # empty in the file
        assert certificate.transit_countries == ["US"]
        assert [(m.mode_code, m.means_name) for m in certificate.main_carriages] == [
            ("3", None),
            ("1", "Ocean Vessel: Black Pearl"),
        ]
        assert [e.seal_ids for e in certificate.transport_equipment] == [["G2382564"]]
        line_notes = {n.subject for n in certificate.line_items[0].additional_information}
        assert {"ADTLIL", "DMTLIL", "RPCST", "RPCRF"} <= line_notes

    def test_bare_certificate_is_kept_as_the_bytes_received(self):
        data = norwegian()
        parsed = parse_certificate_xml(data)
        assert parsed.document == data
        assert parsed.envelope is None

    def test_ched_pp_is_refused_as_not_a_phytosanitary_certificate(self):
        error = refused(sample("GetChedResponse_CHEDPP.XI.2026.0000064.xml"))
        assert "not a phytosanitary certificate (type 636)" in str(error)
        assert error.path == "SPSExchangedDocument/TypeCode"
        assert not error.too_large

    def test_ejemplo_is_refused_naming_its_unbound_prefix(self):
        error = refused(sample("ejemplo.xml"))
        assert "unbound prefix 'soapenv'" in str(error)
        assert "line 2" in str(error)

    def test_ejemplo_with_its_namespaces_declared_is_read_as_an_ephyto_envelope(self):
        declared = (
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}" xmlns:eph="{HUB}" xmlns:hub="{HUB_ENTITIES}" '
            f'xmlns:urn="{SPS}" xmlns:urn1="{RAM}" xmlns:urn2="{UDT}">'
        )
        parsed = parse_certificate_xml(sample("ejemplo.xml").replace(b"<soapenv:Envelope>", declared.encode()))
        certificate = parsed.certificate
        assert parsed.envelope == HubEnvelope("BO", "AR", "851", "70", "BO-5845145424", None)
        assert certificate.issued_at is None
        assert certificate.issued_on == date(2022, 1, 21)
        item = certificate.line_items[0]
        assert (item.scientific_name, item.common_name, item.origin_countries) == (
            "Elymus elongatus",
            "tall wheatgrass",
            ["BO"],
        )
        assert item.net_quantity is not None
        assert (item.net_quantity.value, item.net_quantity.unit) == (Decimal(200), "KGM")
        assert certificate.point_of_entry == "Positos Argentina"  # a name: no UN/LOCODE given
        assert certificate.signatory is not None
        assert certificate.signatory.signed_on == date(2022, 1, 21)
        # The claim check is a document of its own: the namespaces it inherited from the SOAP envelope come along.
        assert parsed.document.startswith(b'<urn:SPSCertificate xmlns:urn="')
        assert parse_certificate_xml(parsed.document).certificate == certificate


HEADER_VALUES = HubEnvelope("AR", "EC", "851", "70", "123ABC", "HUB-2026-0042")
ELEMENTS = {  # HubEnvelope field: EnvelopeHeader element
    "from_country": "From",
    "to_country": "To",
    "certificate_type": "CertificateType",
    "certificate_status": "CertificateStatus",
    "nppo_certificate_number": "NPPOCertificateNumber",
    "hub_delivery_number": "hubDeliveryNumber",
}


def header(values: HubEnvelope = HEADER_VALUES, /, **changes: str | None) -> str:
    values = dataclasses.replace(values, **changes)
    fields = ((name, getattr(values, field)) for field, name in ELEMENTS.items())
    return "".join(f"<hub:{name}>{value}</hub:{name}>" for name, value in fields if value is not None)


HEADER = header()


def without_declaration(document: bytes) -> bytes:
    return document.split(b"?>", 1)[1].lstrip() if document.startswith(b"<?xml") else document


def content_envelope(document: bytes, tag: str = "hub:Envelope", header: str = HEADER) -> bytes:
    """An Envelope (or DeliverEnvelope's env) whose Content is the certificate XML as escaped text."""
    return (
        f'<{tag} xmlns:hub="{HUB_ENTITIES}" xmlns:eph="{HUB}">{header}'
        f"<hub:Content>{escape(document.decode())}</hub:Content></{tag}>"
    ).encode()


def phyto_envelope(document: bytes, tag: str = "eph:ePhytoEnvelope", header: str = HEADER) -> bytes:
    """An ePhytoEnvelope embedding the SPSCertificate element."""
    opening = f'<{tag} xmlns:hub="{HUB_ENTITIES}" xmlns:eph="{HUB}">{header}'
    return opening.encode() + without_declaration(document) + f"</{tag}>".encode()


def soap(payload: bytes, namespace: str, operation: str) -> bytes:
    """The payload in a SOAP Body, inside the hub operation element that carries it."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{namespace}"><s:Header/><s:Body>'
        f'<eph:{operation} xmlns:eph="{HUB}">'.encode()
        + payload
        + f"</eph:{operation}></s:Body></s:Envelope>".encode()
    )


Wrap = Callable[[bytes], bytes]
FORMS: dict[str, tuple[Wrap, bool]] = {  # how the certificate is wrapped, and whether it travels as Content text
    "Envelope with Content": (content_envelope, True),
    "ePhytoEnvelope": (phyto_envelope, False),
    "SOAP 1.1 DeliverEnvelope": (lambda d: soap(content_envelope(d, "eph:env"), SOAP11, "DeliverEnvelope"), True),
    "SOAP 1.2 DeliverEnvelope": (lambda d: soap(content_envelope(d, "eph:env"), SOAP12, "DeliverEnvelope"), True),
    "SOAP 1.1 DeliverPhytoEnvelope": (lambda d: soap(phyto_envelope(d), SOAP11, "DeliverPhytoEnvelope"), False),
    "SOAP 1.2 DeliverPhytoEnvelope": (lambda d: soap(phyto_envelope(d), SOAP12, "DeliverPhytoEnvelope"), False),
    "SOAP 1.1 PULLSingleImportEnvelopeResponse": (
        lambda d: soap(
            content_envelope(d, "eph:PULLSingleImportEnvelopeResult"), SOAP11, "PULLSingleImportEnvelopeResponse"
        ),
        True,
    ),
}


class TestHubEnvelopes:
    @pytest.mark.parametrize("form", FORMS)
    def test_wrapped_certificate_is_the_bare_one_with_the_hub_delivery_number(self, form: str):
        wrap, as_text = FORMS[form]
        bare = parse_certificate_xml(norwegian()).certificate
        parsed = parse_certificate_xml(wrap(norwegian()))
        assert parsed.certificate == bare.model_copy(update={"hub_delivery_number": "HUB-2026-0042"})
        assert parsed.envelope == HEADER_VALUES
        # The claim check keeps the certificate as it came: the Content text, or the embedded element's bytes.
        assert parsed.document == (norwegian() if as_text else without_declaration(norwegian()))

    def test_unqualified_envelope_from_a_hand_built_client_is_read(self):
        nl = HubEnvelope("NL", "GB", "851", "70", "NL-2026-000123", None)
        plain = header(nl).replace("hub:", "")
        data = f"<Envelope>{plain}<Content>{escape(ROSES)}</Content></Envelope>".encode()
        assert parse_certificate_xml(data).envelope == nl

    def test_content_declaring_utf16_as_dotnet_writes_it_is_read_and_stored_as_utf8(self):
        text = ROSES.replace('encoding="UTF-8"', 'encoding="utf-16"').encode()
        nl = header(from_country="NL", to_country="GB", nppo_certificate_number="NL-2026-000123")
        parsed = parse_certificate_xml(content_envelope(text, header=nl))
        assert parsed.certificate.number == "NL-2026-000123"
        assert parsed.document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')

    @pytest.mark.parametrize(
        ("field", "stated", "expected"),
        [
            ("nppo_certificate_number", "123ABD", "'123ABD' but SPSExchangedDocument/ID is '123ABC'"),
            ("nppo_certificate_number", "123abc", "'123abc' but SPSExchangedDocument/ID is '123ABC'"),
            ("certificate_type", "657", "'657' but SPSExchangedDocument/TypeCode is '851'"),
            ("certificate_status", "40", "'40' but SPSExchangedDocument/StatusCode is '70'"),
            ("from_country", "CL", "'CL' but SPSConsignment/ExportSPSCountry/ID is 'AR'"),
        ],
    )
    @pytest.mark.parametrize("wrap", [content_envelope, phyto_envelope], ids=["Content", "ePhytoEnvelope"])
    def test_envelope_disagreeing_with_its_certificate_is_refused_naming_both_values(
        self, wrap: Callable[..., bytes], field: str, stated: str, expected: str
    ):
        error = refused(wrap(norwegian(), header=header(**{field: stated})))
        assert f"{ELEMENTS[field]} is {expected}" in str(error)
        assert "disagrees" in str(error)

    def test_envelope_codes_are_compared_as_numbers_and_the_sender_in_any_case(self):
        parsed = parse_certificate_xml(
            phyto_envelope(norwegian(), header=header(from_country="ar", certificate_type="0851"))
        )
        assert parsed.certificate.number == "123ABC"

    def test_envelope_without_certificate_number_is_refused(self):
        error = refused(content_envelope(norwegian(), header=header(nppo_certificate_number=None)))
        assert "Envelope/NPPOCertificateNumber" in str(error)
        assert "required" in str(error)

    def test_envelope_without_certificate_is_refused(self):
        error = refused(f'<hub:Envelope xmlns:hub="{HUB_ENTITIES}">{HEADER}</hub:Envelope>'.encode())
        assert "found 0 Content and 0 SPSCertificate" in str(error)

    def test_soap_fault_is_refused(self):
        data = f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><s:Fault><faultstring>x</faultstring></s:Fault></s:Body>'
        assert "SOAP Fault" in str(refused(f"{data}</s:Envelope>".encode()))

    def test_several_envelopes_in_one_request_are_refused(self):
        envelopes = content_envelope(roses()) * 2
        error = refused(
            soap(
                b"<eph:PULLImportEnvelopesResult>" + envelopes + b"</eph:PULLImportEnvelopesResult>",
                SOAP11,
                "PULLImportEnvelopeResponse",
            )
        )
        assert "holding 2 elements: one certificate a request" in str(error)

    def test_document_of_another_vocabulary_is_refused_saying_what_is_expected(self):
        error = refused(b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>')
        assert "no certificate here (Invoice" in str(error)
        assert "expected an SPSCertificate" in str(error)


class TestFields:
    def test_roses_certificate_is_read(self):
        certificate = parse_certificate_xml(roses()).certificate
        assert isinstance(certificate, Certificate)
        assert [item.scientific_name for item in certificate.line_items] == ["Rosa", "Tulipa"]
        assert certificate.line_items[0].commodity_code == "060311"

    @pytest.mark.parametrize(
        ("old", "new", "path"),
        [
            pytest.param(
                "<ram:Name>Roses Import Ltd</ram:Name>",
                "",
                "SPSConsignment/ConsigneeSPSParty/Name",
                id="no consignee name",
            ),
            pytest.param(
                "<ram:Name>Bloemen Export BV</ram:Name>",
                "<ram:Name> </ram:Name>",
                "SPSConsignment/ConsignorSPSParty/Name",
                id="blank consignor name",
            ),
            pytest.param("<ram:ID>NL-2026-000123</ram:ID>", "", "SPSExchangedDocument/ID", id="no number"),
            pytest.param("<ram:TypeCode>851</ram:TypeCode>", "", "SPSExchangedDocument/TypeCode", id="no type"),
            pytest.param(
                "<ram:ExportSPSCountry><ram:ID>NL</ram:ID></ram:ExportSPSCountry>",
                "",
                "SPSConsignment/ExportSPSCountry/ID",
                id="no export country",
            ),
            pytest.param(
                "<ram:ImportSPSCountry><ram:ID>GB</ram:ID></ram:ImportSPSCountry>",
                "",
                "SPSConsignment/ImportSPSCountry/ID",
                id="no import country",
            ),
            pytest.param(
                "<ram:ScientificName>Tulipa</ram:ScientificName>",
                "",
                f"SPSConsignment/{SECOND_ITEM}/ScientificName",
                id="no scientific name, a description",
            ),
            pytest.param(
                "<ram:Description>Tulip bulbs</ram:Description>\n        <ram:ScientificName>Tulipa",
                "<ram:ScientificName>",
                f"SPSConsignment/{SECOND_ITEM}/ScientificName",
                id="empty scientific name, no description",
            ),
            pytest.param(
                "<ram:ScientificName>Tulipa</ram:ScientificName>\n        <ram:OriginSPSCountry><ram:ID>NL",
                "<ram:ScientificName>Tulipa</ram:ScientificName><ram:OriginSPSCountry><ram:ID>",
                f"SPSConsignment/{SECOND_ITEM}/OriginSPSCountry/ID",
                id="no origin",
            ),
        ],
    )
    def test_missing_required_field_is_refused_naming_its_path(self, old: str, new: str, path: str):
        error = refused(roses((old, new)))
        assert error.path == path
        assert str(error).startswith(f"{path} (line ")
        assert "required" in str(error)

    def test_certificate_without_line_items_is_refused_naming_the_path(self):
        start, end = ROSES.index("<ram:IncludedSPSConsignmentItem>"), ROSES.index("</ram:IncludedSPSConsignmentItem>")
        error = refused(roses((ROSES[start : end + len("</ram:IncludedSPSConsignmentItem>")], "")))
        assert error.path == "SPSConsignment/IncludedSPSConsignmentItem/IncludedSPSTradeLineItem"
        assert "at least one line item" in str(error)

    def test_element_in_another_namespace_is_named_as_such(self):
        error = refused(
            roses(
                (
                    "<ram:ScientificName>Rosa</ram:ScientificName>",
                    '<x:ScientificName xmlns:x="urn:x">Rosa</x:ScientificName>',
                )
            )
        )
        assert "found ScientificName in namespace 'urn:x'" in str(error)

    def test_malformed_country_is_refused_naming_element_and_field(self):
        error = refused(roses(("<ram:ID>GB</ram:ID>", "<ram:ID>United Kingdom</ram:ID>")))
        assert "SPSConsignment/ImportSPSCountry/ID (line 14)" in str(error)
        assert "[importing_country]" in str(error)

    @pytest.mark.parametrize("status", ["41", "1", "withdrawn"])
    def test_unknown_status_is_refused_naming_the_code(self, status: str):
        error = refused(roses(("<ram:StatusCode>70", f"<ram:StatusCode>{status}")))
        assert f"status code {status!r} is not accepted" in str(error)

    def test_withdrawn_re_export_certificate_is_read(self):
        certificate = parse_certificate_xml(
            roses(("<ram:TypeCode>851", "<ram:TypeCode>657"), ("<ram:StatusCode>70", "<ram:StatusCode>40"))
        ).certificate
        assert (certificate.type, certificate.status) == (CertificateType.RE_EXPORT, CertificateStatus.WITHDRAWN)

    @pytest.mark.parametrize(
        ("text", "issued_at", "issued_on"),
        [
            ("2016-04-22T13:53:08-03:00", datetime(2016, 4, 22, 16, 53, 8, tzinfo=UTC), date(2016, 4, 22)),
            ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), date(2026, 1, 2)),
            ("2022-01-21T15:49:40", None, date(2022, 1, 21)),
            ("2021-09-10", None, date(2021, 9, 10)),
            ("", None, None),
        ],
        ids=["offset", "utc", "no-zone", "date-only", "empty"],
    )
    def test_issue_date_time_in_every_form_seen(self, text: str, issued_at: datetime | None, issued_on: date | None):
        edit = ("2026-11-20T09:30:00+01:00", text)
        certificate = parse_certificate_xml(roses(edit)).certificate
        assert (certificate.issued_at, certificate.issued_on) == (issued_at, issued_on)

    def test_malformed_issue_date_is_refused_naming_its_path(self):
        error = refused(roses(("2026-11-20T09:30:00+01:00", "20 November 2026")))
        assert error.path == "SPSExchangedDocument/IssueDateTime/DateTimeString"
        assert "not a date" in str(error)

    @pytest.mark.parametrize(("code", "kept"), [("0603.11", "060311"), ("0603", None), ("0603110010", "0603110010")])
    def test_hs_code_fills_commodity_code_only_at_6_8_or_10_digits(self, code: str, kept: str | None):
        item = parse_certificate_xml(roses(("060311", code))).certificate.line_items[0]
        assert item.commodity_code == kept
        assert item.classifications[0].class_code == code  # as the certificate gives it

    def test_hs_code_that_is_not_a_number_is_refused(self):
        error = refused(roses(("060311", "ROSES")))
        item = "SPSConsignment/IncludedSPSConsignmentItem/IncludedSPSTradeLineItem[1]"
        assert error.path == f"{item}/ApplicableSPSClassification/ClassCode"
        assert "HS ClassCode 'ROSES' is not a number" in str(error)

    def test_malformed_language_of_a_note_is_left_out_not_refused(self):
        content = '<ram:Content languageID="English (UK)">Free from pests</ram:Content>'
        note = f"<ram:IncludedSPSNote><ram:Subject>ADEDL</ram:Subject>{content}</ram:IncludedSPSNote>"
        certificate = parse_certificate_xml(
            roses(("</ram:IssuerSPSParty>", f"</ram:IssuerSPSParty>{note}"))
        ).certificate
        assert [(n.subject, n.content, n.language_id) for n in certificate.notes] == [
            ("ADEDL", "Free from pests", None)
        ]

    def test_net_weight_without_unit_is_taken_as_kilograms(self):
        item = parse_certificate_xml(roses((' unitCode="KGM"', ""))).certificate.line_items[0]
        assert item.net_quantity is not None
        assert item.net_quantity.unit == "KGM"

    def test_negative_net_weight_is_refused_naming_its_path(self):
        error = refused(roses((">1200<", ">-5<")))
        assert "IncludedSPSTradeLineItem[1]/NetWeightMeasure" in str(error)
        assert "[line_items.0.net_quantity.value]" in str(error)


def measured(data: bytes) -> tuple[CertificateXmlError, int]:
    """The refusal and the peak memory allocated meanwhile: what shows that nothing expanded.

    Time is not asserted: a loaded machine makes wall-clock limits flaky, and memory tells the same story.
    """
    tracemalloc.start()
    try:
        error = refused(data)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


class TestHostileDocuments:
    def test_billion_laughs_is_refused_before_anything_expands(self):
        error, peak = measured(attacks.billion_laughs())
        assert "DOCTYPE is refused" in str(error)
        assert peak < 2_000_000  # the expansion would be 3 GB

    def test_external_entity_is_refused_without_reading_the_file(self):
        error = refused(attacks.external_entity("file:///etc/passwd"))
        assert "DOCTYPE is refused" in str(error)
        assert "root:" not in str(error)
        assert "/bin/" not in str(error)

    @pytest.mark.parametrize(
        "data",
        [attacks.external_dtd(), attacks.external_entity("http://attacker.example/x"), attacks.parameter_entity()],
        ids=["external-dtd", "external-entity-http", "parameter-entity"],
    )
    def test_dtd_and_external_references_are_refused(self, data: bytes):
        assert "is refused: an ePhyto needs no DTD, entity or external reference" in str(refused(data))

    def test_entity_in_the_envelope_content_is_refused_too(self):
        error = refused(attacks.entity_in_envelope_content())
        assert "Envelope/Content" in str(error)
        assert "DOCTYPE is refused" in str(error)

    def test_oversize_document_is_refused_as_too_large_before_parsing(self):
        error = refused(attacks.oversize(2_000), max_bytes=1_000)
        assert error.too_large
        assert "at most 1000" in str(error)
        assert refused(b"<" * 1_001, max_bytes=1_000).too_large  # not even looked at

    def test_nesting_deeper_than_the_limit_is_refused(self):
        error = refused(attacks.deep_nesting(65), max_depth=64)
        assert "nested deeper than 64 levels" in str(error)
        assert not error.too_large

    def test_nesting_up_to_the_limit_is_parsed(self):
        error = refused(attacks.deep_nesting(64), max_depth=64)
        assert "no certificate here" in str(error)  # read through, then found not to be an ePhyto

    def test_nesting_a_hundred_thousand_deep_is_refused_before_the_tree_is_built(self):
        error, peak = measured(attacks.deep_nesting(100_000))
        assert "nested deeper than 64 levels" in str(error)
        assert peak < 3_000_000  # the 700 kB document and little more; the whole tree takes 27 MB

    def test_binary_garbage_is_refused_as_not_utf8(self):
        error = refused(attacks.garbage())
        assert "is not UTF-8" in str(error)

    def test_latin1_without_declaration_is_refused_naming_the_byte(self):
        error = refused(attacks.latin1_without_declaration())
        assert "byte 0xE9 is not UTF-8" in str(error)
        assert str(error).startswith("line 1, column ")

    def test_declared_encoding_other_than_utf8_is_refused(self):
        error = refused(ROSES.replace("UTF-8", "ISO-8859-1").encode("latin-1"))
        assert "declares encoding 'ISO-8859-1'; only UTF-8 is accepted" in str(error)

    def test_truncated_document_is_refused(self):
        error = refused(attacks.truncated(roses()))
        assert "not well-formed XML" in str(error)
        assert "truncated" in str(error)

    @pytest.mark.parametrize("data", [b"", b"hello", b'{"number": "123ABC"}'], ids=["empty", "text", "json"])
    def test_what_is_not_xml_is_refused(self, data: bytes):
        assert "not well-formed XML" in str(refused(data))


class TestMoreHostileDocuments:
    def test_quadratic_blowup_is_refused_before_anything_expands(self):
        error, peak = measured(attacks.quadratic_blowup())
        assert "DOCTYPE is refused" in str(error)
        assert peak < 2_000_000  # expanded: 2.5 GB

    @pytest.mark.parametrize(
        "data",
        [attacks.xinclude(), attacks.schema_location(), attacks.stylesheet_instruction()],
        ids=["xinclude", "schema-location", "stylesheet"],
    )
    def test_references_that_other_readers_follow_are_not_followed(self, data: bytes):
        error = refused(data)  # read as inert markup, then refused for what the certificate lacks
        assert "required" in str(error)
        assert "root:" not in str(error)

    def test_an_encoding_other_than_utf8_is_refused_by_name(self):
        assert "declares encoding 'UTF-7'; only UTF-8 is accepted" in str(refused(attacks.declared_encoding()))

    def test_a_soap_envelope_with_an_entity_is_refused(self):
        assert "DOCTYPE is refused" in str(refused(attacks.soap_with_entity()))

    def test_a_long_element_name_is_refused_without_being_echoed(self):
        error = refused(attacks.long_name())
        assert "an element name is 1000000 characters long; at most 200" in str(error)
        assert len(str(error)) < 300

    def test_an_element_with_too_many_attributes_is_refused(self):
        assert "an element has 100000 attributes; at most 64" in str(refused(attacks.many_attributes()))

    def test_a_flat_document_with_too_many_elements_is_refused(self):
        assert "more than 200000 elements" in str(refused(attacks.many_elements()))

    def test_a_nul_byte_is_not_well_formed_rather_than_utf16(self):
        error = str(refused(attacks.nul_byte()))
        assert "not well-formed XML" in error
        assert "UTF-16" not in error
