"""Validation of the declaration and certificate models the contract carries."""

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from services.contract.certificate import Certificate, CertificateStatus, CertificateType
from services.contract.declaration import Declaration, GoodsItem, Party
from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE, DECLARATION_EXAMPLE
from tests.unit.builders import certificate, declaration, document, goods_item

ADDRESS = {"line": "1 Dock Road", "city": "Dover", "country_code": "GB"}


def example_declaration(**changes: Any) -> dict[str, Any]:
    fields = copy.deepcopy(DECLARATION_EXAMPLE)
    fields.update(changes)
    return fields


def error_locations(raised: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [".".join(map(str, error["loc"])) for error in raised.value.errors()]


class TestParty:
    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"id": "GB123456789000"}, id="id"),
            pytest.param({"name": "Roses Import Ltd", "address": ADDRESS}, id="name-and-address"),
            pytest.param({"id": "GB123456789000", "name": "Roses Import Ltd"}, id="id-and-name"),
        ],
    )
    def test_identified_party_is_accepted(self, fields):
        Party.model_validate(fields)

    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({}, id="nothing"),
            pytest.param({"name": "Roses Import Ltd"}, id="name-only"),
            pytest.param({"address": ADDRESS}, id="address-only"),
        ],
    )
    def test_party_needs_an_id_or_a_name_and_an_address(self, fields):
        with pytest.raises(ValidationError, match="a party needs an id, or else a name and an address"):
            Party.model_validate(fields)

    def test_unidentified_party_is_reported_at_its_place_in_the_declaration(self):
        with pytest.raises(ValidationError) as raised:
            Declaration.model_validate(example_declaration(importer={"name": "Roses Import Ltd"}))
        assert error_locations(raised) == ["importer"]

    @pytest.mark.parametrize("trader_id", ["gb123", "G1234", "GB" + "1" * 16])
    def test_malformed_trader_id_is_refused(self, trader_id):
        with pytest.raises(ValidationError):
            Party(id=trader_id)


class TestGoodsItems:
    def test_sequence_numbers_must_be_unique(self):
        with pytest.raises(ValidationError, match="goods item sequence numbers must be unique"):
            declaration(goods_item(1), goods_item(2), goods_item(1))

    def test_distinct_sequence_numbers_are_accepted(self):
        assert [item.sequence for item in declaration(goods_item(2), goods_item(1)).goods_items] == [2, 1]

    def test_declaration_needs_a_goods_item(self):
        with pytest.raises(ValidationError) as raised:
            Declaration.model_validate(example_declaration(goods_items=[]))
        assert error_locations(raised) == ["goods_items"]

    @pytest.mark.parametrize("code", ["060311", "06031100", "0603110000"])
    def test_commodity_codes_of_6_8_or_10_digits_are_accepted(self, code):
        assert goods_item(commodity_code=code).commodity_code == code

    @pytest.mark.parametrize("code", ["0603", "0603110", "060311000", "06031100000", "06O311", "0603.11", ""])
    def test_other_commodity_codes_are_refused(self, code):
        with pytest.raises(ValidationError) as raised:
            goods_item(commodity_code=code)
        assert error_locations(raised) == ["commodity_code"]

    def test_hs6_is_the_first_six_digits(self):
        assert goods_item(commodity_code="0603110000").hs6 == "060311"

    @pytest.mark.parametrize("country", ["nl", "Nl", "NLD", "N"])
    def test_country_must_be_two_capital_letters(self, country):
        with pytest.raises(ValidationError) as raised:
            goods_item(origin_country=country)
        assert error_locations(raised) == ["origin_country"]

    @pytest.mark.parametrize("value", ["0", "-1"])
    def test_value_must_be_positive(self, value):
        with pytest.raises(ValidationError):
            goods_item(value=value)


class TestReferencedDocuments:
    def test_finds_header_and_item_documents_with_the_code(self):
        roses = declaration(
            goods_item(1, documents=[document("ITEM-1"), document("INV-1", code="N380")]),
            goods_item(2, documents=[document("ITEM-2")]),
            documents=[document("HEADER-1"), document("LIC-1", code="C640")],
        )
        assert [d.id for d in roses.referenced_documents("N851")] == ["HEADER-1", "ITEM-1", "ITEM-2"]

    def test_finds_nothing_when_no_document_has_the_code(self):
        assert declaration(goods_item(documents=[document("INV-1", code="N380")])).referenced_documents("N851") == []

    def test_code_joins_category_and_type(self):
        assert document("NL-1").code == "N851"


class TestCertificate:
    def test_example_is_an_issued_phytosanitary_certificate(self):
        example = Certificate.model_validate(CERTIFICATE_EXAMPLE)
        assert example.status is CertificateStatus.ISSUED
        assert example.type is CertificateType.PHYTOSANITARY

    def test_certificate_needs_a_line_item(self):
        with pytest.raises(ValidationError) as raised:
            certificate(line_items=[])
        assert error_locations(raised) == ["line_items"]

    def test_line_item_needs_an_origin(self):
        line = {**CERTIFICATE_EXAMPLE["line_items"][0], "origin_countries": []}
        with pytest.raises(ValidationError) as raised:
            Certificate.model_validate({**CERTIFICATE_EXAMPLE, "line_items": [line]})
        assert error_locations(raised) == ["line_items.0.origin_countries"]

    def test_unknown_status_code_is_refused(self):
        with pytest.raises(ValidationError) as raised:
            Certificate.model_validate({**CERTIFICATE_EXAMPLE, "status": "99"})
        assert error_locations(raised) == ["status"]

    def test_lowercase_issuing_country_is_refused(self):
        with pytest.raises(ValidationError) as raised:
            Certificate.model_validate({**CERTIFICATE_EXAMPLE, "issuing_country": "nl"})
        assert error_locations(raised) == ["issuing_country"]


class TestModelsAreValues:
    @pytest.mark.parametrize(
        ("model", "fields"),
        [(Declaration, DECLARATION_EXAMPLE), (Certificate, CERTIFICATE_EXAMPLE)],
        ids=["Declaration", "Certificate"],
    )
    def test_a_newer_optional_field_is_ignored_so_older_readers_keep_working(self, model, fields):
        # Tolerant reader: the contract grows by optional fields within a major version. (The gateway
        # refuses unknown fields in HTTP bodies itself; see tests/integration/test_declaration_xml.py.)
        read = model.model_validate({**fields, "colour": "red"})
        assert read == model.model_validate(fields)
        assert "colour" not in read.model_dump()

    def test_a_newer_nested_field_is_ignored(self):
        item = {**DECLARATION_EXAMPLE["goods_items"][0], "weight": "12"}
        read = Declaration.model_validate(example_declaration(goods_items=[item]))
        assert read == Declaration.model_validate(example_declaration())

    @pytest.mark.parametrize(
        ("value", "field"),
        [(declaration(), "lrn"), (goods_item(), "sequence"), (certificate(), "number")],
        ids=["Declaration", "GoodsItem", "Certificate"],
    )
    def test_models_are_frozen(self, value, field):
        with pytest.raises(ValidationError, match="frozen"):
            setattr(value, field, "changed")

    def test_equal_content_makes_equal_values(self):
        assert declaration() == declaration()
        assert GoodsItem.model_validate(goods_item().model_dump()) == goods_item()


def test_a_long_line_item_description_is_kept() -> None:
    # Real certificates join several HS headings into one description: longer than a short text.
    headings = "Live plants (including their roots), cuttings and slips; mushroom spawn; " * 20
    line = {**CERTIFICATE_EXAMPLE["line_items"][0], "description": headings.strip()}
    certificate = Certificate.model_validate({**CERTIFICATE_EXAMPLE, "line_items": [line]})
    assert certificate.line_items[0].description == headings.strip()
