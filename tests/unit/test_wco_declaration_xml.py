"""WCO Data Model declaration XML: the real HMRC CDS samples and hostile or broken documents.

The samples stay in ../shared/samples (outside the project); their tests skip, saying why, when it is absent.
"""

import copy
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.contract.declaration import (
    PHYTOSANITARY_CERTIFICATE,
    Declaration,
    DeclarationType,
    DocumentStatement,
    DutyTaxFee,
    FunctionCode,
    GoodsItem,
)
from services.gateway.adapters.wco_declaration_xml import DeclarationXmlError, parse_declaration_xml
from services.gateway.entrypoints.examples import DECLARATION_EXAMPLE, EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("SW_SAMPLES", ROOT.parent / "shared" / "samples")) / "declarations"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"real declaration sample {path} is absent (set SW_SAMPLES to the shared samples folder)")
    return path.read_bytes()


# Our own cut-roses import, written for these tests: the JSON example's declaration as a WCO document.
ROSES_XML = (EXAMPLES / "declaration.xml").read_text()  # the README lodges this file too

# The same declaration as a trader sends it in JSON.
ROSES_JSON: dict[str, Any] = {
    "lrn": "LRN-2026-ROSES-0002",
    "type": "IM",
    "additional_type": "D",
    "function_code": "9",
    "consignment_reference": "6GB123456789000-ROSES1",
    "declarant": {"id": "GB123456789000"},
    "importer": {"id": "GB123456789000"},
    "exporter": DECLARATION_EXAMPLE["exporter"],
    "authorisations": [
        {"holder_id": "GB123456789000", "category_code": "AEOC"},
        {"holder_id": "GB123456789000", "category_code": "DPO"},
    ],
    "export_country": "NL",
    "destination_country": "GB",
    "goods_location": {"name": "DVRDVRDVR", "type_code": "A", "qualifier": "U", "country_code": "GB"},
    "transport": {
        "border": {"mode_code": "3", "nationality": "NL"},
        "arrival": {"id": "AB12CDE", "identification_type": "30"},
        "containerised": False,
    },
    "trade_terms": {"condition_code": "DAP", "location": "GBDVR"},
    "goods_items": [
        {
            "sequence": 1,
            "commodity_code": "06031100",
            "taric_code": "00",
            "description": "Fresh cut roses",
            "origin_country": "NL",
            "quantity": {"value": "1200", "unit": "KGM"},
            "value": {"value": "8400.00", "currency": "EUR"},
            "net_mass_kg": "1200",
            "gross_mass_kg": "1250",
            "packages": [{"type_code": "BX", "quantity": 120, "marks": "ROSES 1-120"}],
            "valuation_method": "1",
            "procedure": {"requested": "40", "previous": "00", "additional": ["000"]},
            "duties": [{"regime_code": "100", "payment_method": "E"}],
            "documents": [{"category_code": "N", "type_code": "851", "id": "NL-2026-000123", "status": "AE"}],
        }
    ],
    "previous_documents": [{"category_code": "Z", "type_code": "DCR", "id": "6GB123456789000-ROSES1"}],
}


def roses(old: str = "", new: str = "") -> bytes:
    """The roses document with one piece of text replaced (which must occur exactly once)."""
    if old:
        assert ROSES_XML.count(old) == 1, f"{old!r} occurs {ROSES_XML.count(old)} times in ROSES_XML"
    return ROSES_XML.replace(old, new).encode()


def refused(data: bytes, **limits: int) -> DeclarationXmlError:
    with pytest.raises(DeclarationXmlError) as raised:
        parse_declaration_xml(data, **limits)
    return raised.value


@dataclass(frozen=True)
class Expected:
    """Values read by hand from one HMRC sample."""

    file: str
    lrn: str
    additional_type: str
    trader: str
    exporter: str
    exporter_country: str
    commodity_code: str
    taric_code: str
    national_codes: list[str]
    description: str
    origin: str
    preferential_origin: str | None
    net_kg: str
    gross_kg: str
    price: str
    packages: tuple[str, int, str]
    certificate: tuple[str, str]
    authorisations: list[str]
    duties: list[tuple[str | None, str | None, str | None]]
    export_country: str
    accepted: datetime | None
    consignment_reference: str


UK_SUMMER = timezone(timedelta(hours=1))
SAMPLES_EXPECTED = [
    Expected(
        file="TT_IM075a.xml",
        lrn="CDSP9756_TC01_1109",
        additional_type="A",
        trader="GB896458895015",
        exporter="Plants incorporated",
        exporter_country="NL",
        commodity_code="06029050",
        taric_code="00",
        national_codes=[],
        description="Other outdoor plants",
        origin="NL",
        preferential_origin=None,
        net_kg="100",
        gross_kg="110",
        price="1000",
        packages=("TB", 200, "ADRN123456123"),
        certificate=("GBCHD2023.2468435", "AE"),
        authorisations=["DPO", "CGU"],
        duties=[(None, "100", "E"), ("B00", None, "E")],
        export_country="NL",
        accepted=None,
        consignment_reference="3GB150454489082-12345",
    ),
    Expected(
        file="TT_IM051a.xml",
        lrn="U.7867523IVST2",
        additional_type="Y",
        trader="XI553202734852",
        exporter="The NZ Fruit And Veg Company",
        exporter_country="NZ",
        commodity_code="08044000",
        taric_code="10",
        national_codes=["VATZ"],
        description="Fresh Avocados from New Zealand, 1000kg",
        origin="NZ",
        preferential_origin=None,
        net_kg="1000",
        gross_kg="1005",
        price="2000",
        packages=("BX", 10, "CDSPDOEU987654"),
        certificate=("GBPHC012345", "AP"),
        authorisations=["DPO", "AEOC", "SDE", "CGU"],
        duties=[("A50", None, "E"), (None, "100", "E")],
        export_country="NZ",
        accepted=datetime(2025, 8, 12, 11, 26, 57, tzinfo=UK_SUMMER),
        consignment_reference="4GB553202734852-12345",
    ),
    Expected(
        file="Step1_TT_IM030a.xml",
        lrn="U.7849454833T3",
        additional_type="Y",
        trader="XI553202734852",
        exporter="Chile Vegetable Company",
        exporter_country="CL",
        commodity_code="07099310",
        taric_code="00",
        national_codes=["VATZ"],
        description="Fresh courgettes from Chile",
        origin="CL",
        preferential_origin="CL",
        net_kg="11600",
        gross_kg="11800",
        price="6500",
        packages=("BX", 10, "BX12345"),
        certificate=("GBPHC012345", "AP"),
        authorisations=["AEOC", "DPO", "CGU", "SDE"],
        duties=[("A50", None, "R"), (None, "300", None)],
        export_country="CL",
        accepted=datetime(2026, 2, 19, 13, 25, 50, tzinfo=UK_SUMMER),
        consignment_reference="5XI553202734852-24082022",
    ),
]


@pytest.fixture(params=SAMPLES_EXPECTED, ids=[expected.file for expected in SAMPLES_EXPECTED])
def case(request: pytest.FixtureRequest) -> tuple[Expected, Declaration]:
    expected: Expected = request.param
    return expected, parse_declaration_xml(sample(expected.file))


class TestHmrcSamples:
    def test_header_is_an_original_import_with_its_lrn_and_type(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        assert declaration.lrn == expected.lrn
        assert declaration.type is DeclarationType.IMPORT
        assert declaration.additional_type == expected.additional_type
        assert declaration.function_code is FunctionCode.ORIGINAL
        assert declaration.acceptance_datetime == expected.accepted
        assert declaration.consignment_reference == expected.consignment_reference

    def test_declarant_and_importer_are_the_same_eori(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        assert declaration.declarant.id == expected.trader
        assert declaration.importer.id == expected.trader
        assert declaration.importer.name is None

    def test_exporter_has_no_eori_but_a_name_and_address(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        assert declaration.exporter.id is None
        assert declaration.exporter.name == expected.exporter
        assert declaration.exporter.address is not None
        assert declaration.exporter.address.country_code == expected.exporter_country

    def test_authorisations_are_held_by_the_declarant(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        assert [a.category_code for a in declaration.authorisations] == expected.authorisations
        assert {a.holder_id for a in declaration.authorisations} == {expected.trader}

    def test_single_goods_item_with_commodity_code_taric_and_hs6(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        [item] = declaration.goods_items
        assert item.sequence == 1
        assert item.commodity_code == expected.commodity_code
        assert item.taric_code == expected.taric_code
        assert item.full_commodity_code == expected.commodity_code + expected.taric_code
        assert item.hs6 == expected.commodity_code[:6]
        assert item.national_additional_codes == expected.national_codes
        assert item.description == expected.description

    def test_origin_and_claimed_preference(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        [item] = declaration.goods_items
        assert item.origin_country == expected.origin
        assert item.preferential_origin == expected.preferential_origin
        assert item.origin_preferential is (expected.preferential_origin is not None)

    def test_masses_price_and_quantity(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        [item] = declaration.goods_items
        assert item.net_mass_kg == Decimal(expected.net_kg)
        assert item.gross_mass_kg == Decimal(expected.gross_kg)
        assert (item.value.value, item.value.currency) == (Decimal(expected.price), "GBP")
        # No sample declares supplementary units: the quantity is the net mass in kg.
        assert item.supplementary_quantity is None
        assert (item.quantity.value, item.quantity.unit) == (Decimal(expected.net_kg), "KGM")

    def test_packages_valuation_and_procedure(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        [item] = declaration.goods_items
        assert [(p.type_code, p.quantity, p.marks) for p in item.packages] == [expected.packages]
        assert item.valuation_method == "1"
        assert item.procedure is not None
        assert (item.procedure.code, item.procedure.additional) == ("4000", ["000"])

    def test_duty_lines_keep_type_regime_and_payment_apart_as_declared(
        self, case: tuple[Expected, Declaration]
    ) -> None:
        expected, declaration = case
        [item] = declaration.goods_items
        assert [(d.type_code, d.regime_code, d.payment_method) for d in item.duties] == expected.duties

    def test_phytosanitary_certificate_is_cited_with_its_status(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        [certificate] = declaration.referenced_documents(PHYTOSANITARY_CERTIFICATE)
        assert (certificate.id, certificate.status) == expected.certificate

    def test_shipment_countries_and_transport(self, case: tuple[Expected, Declaration]) -> None:
        expected, declaration = case
        assert declaration.export_country == expected.export_country
        assert declaration.destination_country == "GB"
        assert declaration.transport is not None
        assert declaration.transport.border is not None
        assert declaration.transport.border.mode_code == "1"
        assert declaration.transport.containerised is True
        assert declaration.trade_terms is not None
        assert declaration.trade_terms.condition_code == "CIF"
        # The gateway does not guess a place of entry from incoterm places or national location codes.
        assert declaration.point_of_entry is None

    def test_header_deferment_account_is_a_document(self, case: tuple[Expected, Declaration]) -> None:
        _, declaration = case
        assert [d.code for d in declaration.documents] == ["1DAN"]

    def test_json_form_of_the_parsed_declaration_is_the_same_declaration(
        self, case: tuple[Expected, Declaration]
    ) -> None:
        _, declaration = case
        assert Declaration.model_validate(declaration.model_dump(mode="json")) == declaration


class TestSampleDetails:
    """What only one sample shows."""

    def test_frontier_import_of_plants_has_a_document_code_without_id(self) -> None:
        declaration = parse_declaration_xml(sample("TT_IM075a.xml"))
        [item] = declaration.goods_items
        assert item.document_statements == [
            DocumentStatement(category_code="Y", type_code="942", name="Reg 2016/1141 exempt")
        ]
        assert [d.code for d in item.documents] == ["C505", "C506", "C644", "N935", "N851"]
        assert declaration.goods_location is not None
        assert declaration.goods_location.name == "WLALONBTW"
        assert declaration.transport is not None
        assert declaration.transport.container_ids == ["AD12345"]
        assert [(g.type_code, g.reference) for g in declaration.guarantees] == [("1", "GBCGU3827")]

    def test_avocados_declare_a_specific_duty_base_in_kg(self) -> None:
        [item] = parse_declaration_xml(sample("TT_IM051a.xml")).goods_items
        base = item.duties[1].tax_base_quantity
        assert base is not None
        assert (base.value, base.unit) == (Decimal(1000), "KGM")
        waiver = next(d for d in item.documents if d.code == "Y929")
        assert (waiver.id, waiver.name) == ("Excluded from Reg 834/2007", "Reason for Waiver")

    def test_courgettes_claim_a_preference_without_the_origin_proofs(self) -> None:
        [item] = parse_declaration_xml(sample("Step1_TT_IM030a.xml")).goods_items
        proofs = {d.code: d.status for d in item.documents if d.category_code == "U"}
        assert proofs == {"U096": "UA", "U045": "UA"}
        assert "300" in {d.regime_code for d in item.duties}
        ids = {d.code: d.id for d in item.documents}
        assert ids["955D"] == "C&E955D"
        assert ids["C501"] == "XI AEOC 18560/59"


class TestJsonAndXmlAgree:
    def test_xml_and_json_bodies_of_one_declaration_are_equal(self) -> None:
        assert parse_declaration_xml(roses()) == Declaration.model_validate(ROSES_JSON)

    def test_the_json_example_is_still_a_valid_declaration_with_new_fields_defaulted(self) -> None:
        example = Declaration.model_validate(DECLARATION_EXAMPLE)
        assert example.function_code is FunctionCode.ORIGINAL
        assert example.additional_type is None
        assert example.goods_items[0].taric_code is None
        assert example.goods_items[0].packages == []

    def test_bare_declaration_root_reads_as_inside_metadata(self) -> None:
        start = ROSES_XML.index("<Declaration>") + len("<Declaration>")
        end = ROSES_XML.index("</md:MetaData>")
        bare = '<Declaration xmlns="urn:wco:datamodel:WCO:DEC-DMS:2">' + ROSES_XML[start:end]
        assert parse_declaration_xml(bare.encode()) == parse_declaration_xml(roses())

    def test_missing_xml_declaration_comments_and_wrapped_values_are_tolerated(self) -> None:
        data = roses('<?xml version="1.0" encoding="UTF-8"?>\n', "<!-- no XML declaration -->")
        data = data.replace(b"<ID>NL-2026-000123</ID>", b"<ID>\n\t\tNL-2026-000123\n\t</ID>")
        [item] = parse_declaration_xml(data).goods_items
        assert item.description == "Fresh cut roses"
        assert [d.id for d in item.documents] == ["NL-2026-000123"]

    @pytest.mark.parametrize(
        ("type_code", "kind", "additional"),
        [("IMA", "IM", "A"), ("EXA", "EX", "A"), ("COD", "CO", "D"), ("IM", "IM", None)],
    )
    def test_type_code_splits_into_type_and_additional_type(
        self, type_code: str, kind: str, additional: str | None
    ) -> None:
        declaration = parse_declaration_xml(roses("<TypeCode>IMD</TypeCode>", f"<TypeCode>{type_code}</TypeCode>"))
        assert (declaration.type, declaration.additional_type) == (kind, additional)

    @pytest.mark.parametrize(
        ("code", "function"),
        [("4", FunctionCode.CHANGE), ("5", FunctionCode.REPLACE), ("1", FunctionCode.CANCELLATION)],
    )
    def test_whole_declarations_may_change_replace_or_cancel(self, code: str, function: FunctionCode) -> None:
        data = roses("<FunctionCode>9</FunctionCode>", f"<FunctionCode>{code}</FunctionCode>")
        assert parse_declaration_xml(data).function_code is function

    def test_supplementary_units_with_a_unit_are_the_quantity_when_no_net_mass_is_given(self) -> None:
        data = roses(
            '<NetNetWeightMeasure unitCode="KGM">1200</NetNetWeightMeasure>',
            '<TariffQuantity unitCode="NAR">24000</TariffQuantity>',
        )
        data = data.replace(b"<TypeCode>IMD</TypeCode>", b"<TypeCode>IMB</TypeCode>")
        [item] = parse_declaration_xml(data).goods_items
        assert (item.quantity.value, item.quantity.unit) == (Decimal(24000), "NAR")
        assert (item.net_mass_kg, item.supplementary_quantity) == (None, Decimal(24000))

    def test_items_with_different_export_countries_keep_their_own(self) -> None:
        second = ROSES_XML[ROSES_XML.index("<GovernmentAgencyGoodsItem>") : ROSES_XML.index("<Importer>")]
        second = second.replace(
            "<SequenceNumeric>1</SequenceNumeric>\n        <Add", "<SequenceNumeric>2</SequenceNumeric><Add"
        )
        second = second.replace("<Origin>", "<ExportCountry><ID>BE</ID></ExportCountry><Origin>")
        data = roses("<Importer>", second + "<Importer>")
        data = data.replace(b"<GoodsItemQuantity>1<", b"<GoodsItemQuantity>2<").replace(b">120</Total", b">240</Total")
        declaration = parse_declaration_xml(data)
        assert declaration.export_country == "NL"
        assert [item.export_country for item in declaration.goods_items] == [None, "BE"]


class TestBrokenDeclarations:
    def test_missing_lrn_names_the_functional_reference_path(self) -> None:
        error = refused(roses("<FunctionalReferenceID>LRN-2026-ROSES-0002</FunctionalReferenceID>"))
        assert error.path == "MetaData/Declaration/FunctionalReferenceID"
        assert "FunctionalReferenceID is missing" in str(error)
        assert not error.too_large

    def test_goods_item_quantity_must_count_the_goods_items(self) -> None:
        error = refused(roses("<GoodsItemQuantity>1<", "<GoodsItemQuantity>2<"))
        assert error.path == "MetaData/Declaration/GoodsItemQuantity"
        items = "MetaData/Declaration/GoodsShipment/GovernmentAgencyGoodsItem"
        assert f"GoodsItemQuantity is 2 but the declaration has 1 {items} elements" in str(error)

    def test_total_package_quantity_must_be_the_sum_of_the_packages(self) -> None:
        error = refused(roses("<TotalPackageQuantity>120<", "<TotalPackageQuantity>100<"))
        assert "TotalPackageQuantity is 100 but the Packaging/QuantityQuantity of its goods items" in str(error)
        assert str(error).endswith("add up to 120")

    @pytest.mark.parametrize(
        ("old", "new", "path", "field"),
        [
            pytest.param(
                "<Origin><CountryCode>NL<",
                "<Origin><CountryCode>nl<",
                "GovernmentAgencyGoodsItem/Origin/CountryCode",
                "goods_items.0.origin_country",
                id="origin",
            ),
            pytest.param(
                "<CountryCode>NL</CountryCode>\n        <Line>",
                "<CountryCode>NLD</CountryCode>\n        <Line>",
                "Exporter/Address/CountryCode",
                "exporter.address.country_code",
                id="exporter",
            ),
            pytest.param(
                'currencyID="EUR"',
                'currencyID="euro"',
                "InvoiceLine/ItemChargeAmount/@currencyID",
                "goods_items.0.value.currency",
                id="currency",
            ),
            pytest.param(
                "<Declarant><ID>GB123456789000<",
                "<Declarant><ID>gb-123<",
                "Declarant/ID",
                "declarant.id",
                id="eori",
            ),
            pytest.param(
                "<ID>00</ID>",
                "<ID>0</ID>",
                "Classification[2]/ID",
                "goods_items.0.taric_code",
                id="taric",
            ),
            pytest.param(
                "<LPCOExemptionCode>AE<",
                "<LPCOExemptionCode>ae<",
                "AdditionalDocument/LPCOExemptionCode",
                "goods_items.0.documents.0.status",
                id="document-status",
            ),
        ],
    )
    def test_bad_code_is_reported_at_its_element(self, old: str, new: str, path: str, field: str) -> None:
        error = refused(roses(old, new))
        assert error.path is not None
        assert error.path.endswith(path), error.path
        assert field in str(error)

    def test_commodity_code_must_be_eight_digits(self) -> None:
        error = refused(roses("<ID>06031100</ID>", "<ID>0603110</ID>"))
        assert "must be 8 digits; found '0603110'" in str(error)

    def test_masses_must_be_in_kilograms(self) -> None:
        error = refused(roses('<GrossMassMeasure unitCode="KGM">', '<GrossMassMeasure unitCode="GRM">'))
        assert error.path is not None
        assert error.path.endswith("GoodsMeasure/GrossMassMeasure")

    def test_gross_mass_below_net_mass_is_refused(self) -> None:
        error = refused(roses(">1250</GrossMassMeasure>", ">1100</GrossMassMeasure>"))
        assert "gross mass 1100 kg is less than net mass 1200 kg" in str(error)

    def test_goods_item_needs_a_price(self) -> None:
        error = refused(
            roses('<InvoiceLine><ItemChargeAmount currencyID="EUR">8400.00</ItemChargeAmount></InvoiceLine>')
        )
        assert "ItemChargeAmount is missing" in str(error)

    def test_standard_import_needs_the_net_mass(self) -> None:
        error = refused(roses('<NetNetWeightMeasure unitCode="KGM">1200</NetNetWeightMeasure>', ""))
        assert "NetNetWeightMeasure is missing" in str(error)

    def test_unknown_declaration_type_is_refused_naming_the_expected_ones(self) -> None:
        error = refused(roses("<TypeCode>IMD</TypeCode>", "<TypeCode>XXD</TypeCode>"))
        assert error.path == "MetaData/Declaration/TypeCode"
        assert "expected one of IM, EX, CO" in str(error)

    def test_hmrc_amendment_request_is_refused_as_not_a_whole_declaration(self) -> None:
        data = roses("<FunctionCode>9</FunctionCode>", "<FunctionCode>13</FunctionCode>")
        data = data.replace(b"<TypeCode>IMD</TypeCode>", b"<ID>24GB123456789ABCD1</ID><TypeCode>COR</TypeCode>")
        error = refused(data)
        assert "an amendment request for declaration 24GB123456789ABCD1" in str(error)

    def test_unknown_function_code_is_refused(self) -> None:
        error = refused(roses("<FunctionCode>9</FunctionCode>", "<FunctionCode>7</FunctionCode>"))
        assert error.path == "MetaData/Declaration/FunctionCode"
        assert "function_code" in str(error)

    def test_other_root_element_is_refused(self) -> None:
        error = refused(b'<SPSCertificate xmlns="urn:un:unece:uncefact:data:standard:SPSCertificate:17"/>')
        assert "the root element is 'SPSCertificate'" in str(error)

    def test_declaration_in_another_namespace_is_not_a_declaration(self) -> None:
        error = refused(roses('xmlns="urn:wco:datamodel:WCO:DEC-DMS:2"', 'xmlns="urn:example:declaration"'))
        assert "MetaData holds 0 Declaration elements" in str(error)

    def test_unbound_prefix_is_refused(self) -> None:
        error = refused(
            roses("<Declarant><ID>", "<Declarant><wco:ID>").replace(b"</ID></Declarant>", b"</wco:ID></Declarant>")
        )
        assert "unbound prefix" in str(error)

    def test_not_xml_at_all_is_refused(self) -> None:
        assert "not well-formed XML" in str(refused(b'{"lrn": "LRN-1"}'))


class TestHostileDocuments:
    BILLION_LAUGHS = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<Declaration xmlns="urn:wco:datamodel:WCO:DEC-DMS:2"><FunctionalReferenceID>&lol2;</FunctionalReferenceID>'
        b"</Declaration>"
    )
    EXTERNAL_ENTITY = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        b'<Declaration xmlns="urn:wco:datamodel:WCO:DEC-DMS:2"><FunctionalReferenceID>&secret;</FunctionalReferenceID>'
        b"</Declaration>"
    )
    EXTERNAL_DTD = (
        b'<!DOCTYPE Declaration SYSTEM "http://example.invalid/dec.dtd">'
        b'<Declaration xmlns="urn:wco:datamodel:WCO:DEC-DMS:2"/>'
    )

    @pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "entity", "dtd"])
    def test_doctype_is_refused_before_anything_expands(self, data: bytes) -> None:
        error = refused(data)
        assert "a DOCTYPE is refused" in str(error)
        assert not error.too_large

    def test_undeclared_entity_is_refused(self) -> None:
        error = refused(roses("LRN-2026-ROSES-0002", "&secret;"))
        assert "undefined entity" in str(error)

    def test_oversize_document_is_refused_before_parsing(self) -> None:
        error = refused(b"<" * 2_000, max_bytes=1_000)
        assert error.too_large
        assert "2000 bytes; at most 1000" in str(error)

    def test_deep_nesting_is_refused(self) -> None:
        deep = (
            b'<Declaration xmlns="urn:wco:datamodel:WCO:DEC-DMS:2">' + b"<a>" * 100 + b"</a>" * 100 + b"</Declaration>"
        )
        error = refused(deep, max_depth=64)
        assert "nested deeper than 64 levels" in str(error)
        assert not error.too_large


class TestWcoShapedModel:
    def test_taric_code_completes_only_an_eight_digit_commodity_code(self) -> None:
        item = copy.deepcopy(ROSES_JSON["goods_items"][0])
        with pytest.raises(ValidationError, match="taric_code '00' completes an 8-digit commodity code"):
            GoodsItem.model_validate({**item, "commodity_code": "0603110000"})

    def test_ten_digit_commodity_code_without_taric_code_is_still_accepted(self) -> None:
        item = GoodsItem.model_validate(
            {**ROSES_JSON["goods_items"][0], "commodity_code": "0603110000", "taric_code": None}
        )
        assert (item.hs6, item.full_commodity_code) == ("060311", "0603110000")

    def test_duty_line_needs_a_type_or_a_regime(self) -> None:
        with pytest.raises(ValidationError, match="needs a type code or a duty regime code"):
            DutyTaxFee(payment_method="E")

    def test_standard_import_items_need_net_mass_and_procedure(self) -> None:
        item = {key: value for key, value in ROSES_JSON["goods_items"][0].items() if key != "procedure"}
        with pytest.raises(ValidationError, match=r"IMD declaration: goods_items.0.procedure is required"):
            Declaration.model_validate({**ROSES_JSON, "goods_items": [item]})

    def test_first_version_bodies_without_additional_type_need_neither(self) -> None:
        item = {
            key: value for key, value in ROSES_JSON["goods_items"][0].items() if key not in ("procedure", "net_mass_kg")
        }
        assert Declaration.model_validate({**ROSES_JSON, "additional_type": None, "goods_items": [item]})

    def test_document_ids_keep_their_inner_spaces(self) -> None:
        item = {
            **ROSES_JSON["goods_items"][0],
            "documents": [{"category_code": "C", "type_code": "501", "id": " XI AEOC 18560/59 "}],
        }
        assert GoodsItem.model_validate(item).documents[0].id == "XI AEOC 18560/59"
