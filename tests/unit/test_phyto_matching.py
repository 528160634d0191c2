"""Plant-health assessment: regulated goods against the phytosanitary certificates they cite, field by field."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import pytest

from services.contract.certificate import Certificate, CertificateStatus
from services.contract.declaration import Declaration, Quantity, cited_certificates, normalised_name
from services.contract.events import Outcome
from services.contract.rules_file import load_rules
from services.phyto.domain.assessment import PhytoAssessment, PhytoRules
from services.phyto.domain.assessment import assess as assess_with_rules
from services.phyto.domain.matching import WITHHELD, Mismatch
from services.phyto.domain.requirements import ImportRequirements, RegulatedCommodity
from tests.unit.builders import (
    AT,
    CERTIFICATE_NUMBER,
    DECLARATION_ID,
    IMPORT_REQUIREMENTS,
    INSPECTION_DRAW,
    certificate,
    certificate_line,
    declaration,
    document,
    goods_item,
)

LAPTOPS = "84713000"
CITING = [document(CERTIFICATE_NUMBER)]


@pytest.fixture(scope="module")
def requirements() -> ImportRequirements:
    return load_rules(IMPORT_REQUIREMENTS, ImportRequirements)


def assess(
    requirements: ImportRequirements, declared: Declaration, certificates: Mapping[str, Certificate]
) -> PhytoAssessment:
    """Assessed at the border GB, lodged and decided on the day the example certificate was issued."""
    rules = PhytoRules(requirements, "GB", INSPECTION_DRAW)
    return assess_with_rules(rules, DECLARATION_ID, declared, certificates, lodged_at=AT, now=AT)


def received(*certificates: Certificate) -> dict[str, Certificate]:
    return {c.number: c for c in certificates}


def codes(assessment: PhytoAssessment) -> list[str]:
    return [r.code for r in assessment.reasons]


class TestCategoryOf:
    @pytest.mark.parametrize(
        ("commodity_code", "category"),
        [
            ("06031100", "cut_flowers"),
            ("06029050", "plants_for_planting"),
            ("08044000", "fruit_and_vegetables"),
            ("07131010", "grain"),
            ("10019900", "grain"),
            ("4407109100", "wood"),
            (LAPTOPS, None),
            ("07108095", None),
        ],
    )
    def test_shipped_requirements(self, requirements, commodity_code, category):
        assert requirements.category_of(commodity_code) == category

    @pytest.mark.parametrize("order", [("07", "0713"), ("0713", "07")])
    def test_longest_prefix_wins_whatever_the_order(self, order):
        categories = {"07": "fruit_and_vegetables", "0713": "grain"}
        table = ImportRequirements(
            version="test",
            effective_from=date(2026, 1, 1),
            regulated=tuple(RegulatedCommodity(prefix=p, category=categories[p]) for p in order),
        )
        assert table.category_of("07131010") == "grain"
        assert table.category_of("07020000") == "fruit_and_vegetables"


class TestCitedCertificates:
    def test_item_documents_override_the_header(self):
        item = goods_item(documents=[document("ITEM-1"), document("INV-1", code="N380")])
        assert cited_certificates(declaration(item, documents=[document("HEADER-1")]), item) == ["ITEM-1"]

    def test_header_applies_to_items_citing_none(self):
        item = goods_item()
        assert cited_certificates(declaration(item, documents=[document("HEADER-1")]), item) == ["HEADER-1"]


class TestAssess:
    def test_no_regulated_goods_is_not_concerned(self, requirements):
        laptops = declaration(goods_item(commodity_code=LAPTOPS, documents=CITING))
        assessment = assess(requirements, laptops, {})
        assert assessment.outcome is Outcome.NOT_CONCERNED
        assert codes(assessment) == ["NO_REGULATED_GOODS"]

    def test_regulated_item_citing_no_certificate_is_held(self, requirements):
        assessment = assess(requirements, declaration(goods_item(3)), received(certificate()))
        assert assessment.outcome is Outcome.HELD
        assert codes(assessment) == ["CERTIFICATE_NOT_CITED"]
        assert "goods item 3" in assessment.reasons[0].text

    def test_certificate_cited_but_not_received_is_awaited(self, requirements):
        assessment = assess(requirements, declaration(goods_item(documents=CITING)), {})
        assert assessment.outcome is Outcome.HELD
        assert codes(assessment) == ["CERTIFICATE_AWAITED"]
        assert assessment.awaited == (CERTIFICATE_NUMBER,)
        assert CERTIFICATE_NUMBER in assessment.reasons[0].text

    def test_certificate_cited_by_several_items_is_awaited_once(self, requirements):
        roses = declaration(goods_item(1), goods_item(2), documents=CITING)
        assessment = assess(requirements, roses, {})
        assert assessment.awaited == (CERTIFICATE_NUMBER,)
        assert codes(assessment) == ["CERTIFICATE_AWAITED"]

    def test_withdrawn_certificate_is_held(self, requirements):
        withdrawn = certificate(status=CertificateStatus.WITHDRAWN)
        assessment = assess(requirements, declaration(goods_item(documents=CITING)), received(withdrawn))
        assert assessment.outcome is Outcome.HELD
        assert codes(assessment) == ["CERTIFICATE_WITHDRAWN"]
        assert assessment.mismatches == ()

    def test_withdrawn_status_code_40_from_the_wire_is_recognised(self, requirements):
        withdrawn = Certificate.model_validate({**certificate().model_dump(mode="json"), "status": "40"})
        assessment = assess(requirements, declaration(goods_item(documents=CITING)), received(withdrawn))
        assert codes(assessment) == ["CERTIFICATE_WITHDRAWN"]

    def test_origin_not_on_the_certificate_is_a_mismatch(self, requirements):
        kenyan = declaration(goods_item(4, origin_country="KE", documents=CITING))
        assessment = assess(requirements, kenyan, received(certificate()))
        assert assessment.outcome is Outcome.HELD
        assert codes(assessment) == ["CERTIFICATE_MISMATCH"]
        assert assessment.mismatches == (Mismatch(4, CERTIFICATE_NUMBER, "origin", "KE", "NL"),)

    def test_origin_on_any_certificate_line_matches(self, requirements):
        lines = [certificate_line(1, origin_countries=["NL"]), certificate_line(2, origin_countries=["EC", "KE"])]
        kenyan = declaration(goods_item(origin_country="KE", documents=CITING))
        assessment = assess(requirements, kenyan, received(certificate(line_items=lines)))
        assert assessment.outcome is Outcome.RELEASED

    def test_commodity_not_on_the_certificate_is_a_mismatch(self, requirements):
        tulips = declaration(goods_item(commodity_code="06031900", documents=CITING))
        assessment = assess(requirements, tulips, received(certificate()))
        assert codes(assessment) == ["CERTIFICATE_MISMATCH"]
        assert assessment.mismatches == (Mismatch(1, CERTIFICATE_NUMBER, "commodity_code", "060319", "060311"),)

    def test_commodity_codes_compare_at_hs6(self, requirements):
        lines = [certificate_line(commodity_code="0603110000")]
        roses = declaration(goods_item(commodity_code="06031100", documents=CITING))
        assert assess(requirements, roses, received(certificate(line_items=lines))).outcome is Outcome.RELEASED

    def test_certificate_without_commodity_codes_never_mismatches_on_commodity(self, requirements):
        lines = [certificate_line(commodity_code=None)]
        tulips = declaration(goods_item(commodity_code="06031900", documents=CITING))
        assessment = assess(requirements, tulips, received(certificate(line_items=lines)))
        assert assessment.outcome is Outcome.RELEASED
        assert assessment.mismatches == ()

    def test_consignee_names_compare_normalised(self, requirements):
        importer = {"name": "ROSES IMPORT LIMITED", "address": {"city": "Dover", "country_code": "GB"}}
        roses = declaration(goods_item(documents=CITING), importer=importer)
        assert assess(requirements, roses, received(certificate())).outcome is Outcome.RELEASED
        assert normalised_name("Roses-Import, Ltd.") == normalised_name("roses import") == "roses import"

    def test_another_consignee_is_a_mismatch(self, requirements):
        importer = {"name": "Tulip Traders Ltd", "address": {"city": "Dover", "country_code": "GB"}}
        roses = declaration(goods_item(documents=CITING), importer=importer)
        assessment = assess(requirements, roses, received(certificate()))
        assert assessment.mismatches == (Mismatch(1, CERTIFICATE_NUMBER, "consignee", "Tulip Traders Ltd", WITHHELD),)
        assert "Roses Import" not in str(assessment.reasons)

    def test_a_certificate_for_another_consignee_shows_nothing_of_its_goods(self, requirements):
        importer = {"name": "Tulip Traders Ltd", "address": {"city": "Dover", "country_code": "GB"}}
        item = goods_item(documents=CITING, origin_country="KE", quantity={"value": "9", "unit": "KGM"})
        assessment = assess(requirements, declaration(item, importer=importer), received(certificate()))
        assert [mismatch.field for mismatch in assessment.mismatches] == ["consignee"]
        assert "origin" not in str(assessment.reasons)
        assert "1200" not in str(assessment.reasons)

    def test_importer_known_by_eori_only_is_not_compared_by_name(self, requirements):
        roses = declaration(goods_item(documents=CITING), importer={"id": "GB123456789000"})
        assert assess(requirements, roses, received(certificate())).mismatches == ()

    def test_export_country_must_be_the_issuing_country(self, requirements):
        roses = declaration(goods_item(documents=CITING), export_country="BE")
        assert assess(requirements, roses, received(certificate())).mismatches == (
            Mismatch(1, CERTIFICATE_NUMBER, "export_country", "BE", "NL"),
        )

    @pytest.mark.parametrize("declared", ["1080", "1320", "1150"])
    def test_quantity_within_the_tolerance_matches(self, requirements, declared):
        item = goods_item(documents=CITING, quantity={"value": declared, "unit": "KGM"})
        assert assess(requirements, declaration(item), received(certificate())).mismatches == ()

    @pytest.mark.parametrize("declared", ["1079", "1321"])
    def test_quantity_beyond_the_tolerance_is_a_mismatch(self, requirements, declared):
        item = goods_item(documents=CITING, quantity={"value": declared, "unit": "KGM"})
        assessment = assess(requirements, declaration(item), received(certificate()))
        assert assessment.mismatches == (Mismatch(1, CERTIFICATE_NUMBER, "quantity", f"{declared} KGM", "1200 KGM"),)
        assert codes(assessment) == ["CERTIFICATE_MISMATCH"]

    def test_net_mass_is_compared_when_declared(self, requirements):
        item = goods_item(documents=CITING, quantity={"value": "5", "unit": "NAR"}, net_mass_kg="600")
        assert assess(requirements, declaration(item), received(certificate())).mismatches == (
            Mismatch(1, CERTIFICATE_NUMBER, "quantity", "600 KGM", "1200 KGM"),
        )

    def test_mass_units_are_converted(self, requirements):
        line = certificate_line().model_copy(update={"net_quantity": Quantity(value=Decimal("1.2"), unit="TNE")})
        item = goods_item(documents=CITING, quantity={"value": "1200", "unit": "KGM"})
        assert assess(requirements, declaration(item), received(certificate(line_items=[line]))).mismatches == ()

    def test_quantities_of_different_kinds_are_not_compared(self, requirements):
        line = certificate_line().model_copy(update={"net_quantity": Quantity(value=Decimal("3"), unit="MTQ")})
        item = goods_item(documents=CITING, quantity={"value": "1200", "unit": "KGM"})
        assert assess(requirements, declaration(item), received(certificate(line_items=[line]))).mismatches == ()

    def test_another_point_of_entry_is_a_mismatch(self, requirements):
        roses = declaration(goods_item(documents=CITING), point_of_entry="GBFXT")
        assert assess(requirements, roses, received(certificate())).mismatches == (
            Mismatch(1, CERTIFICATE_NUMBER, "point_of_entry", "GBFXT", "GBDVR"),
        )

    def test_point_of_entry_is_compared_only_when_both_give_one(self, requirements):
        roses = declaration(goods_item(documents=CITING), point_of_entry=None)
        assert assess(requirements, roses, received(certificate())).mismatches == ()

    def test_both_origin_and_commodity_mismatches_are_reported(self, requirements):
        item = goods_item(commodity_code="06031900", origin_country="KE", documents=CITING)
        assessment = assess(requirements, declaration(item), received(certificate()))
        assert [m.field for m in assessment.mismatches] == ["origin", "commodity_code"]
        assert codes(assessment) == ["CERTIFICATE_MISMATCH", "CERTIFICATE_MISMATCH"]

    def test_item_level_certificate_overrides_the_header(self, requirements):
        roses = declaration(goods_item(documents=CITING), documents=[document("NL-2026-999999")])
        assessment = assess(requirements, roses, received(certificate()))
        assert assessment.outcome is Outcome.RELEASED
        assert assessment.awaited == ()

    def test_header_certificate_covers_items_citing_none(self, requirements):
        roses = declaration(goods_item(1), goods_item(2), documents=CITING)
        assert assess(requirements, roses, received(certificate())).outcome is Outcome.RELEASED

    def test_everything_matching_is_released_without_reasons(self, requirements):
        assessment = assess(requirements, declaration(goods_item(documents=CITING)), received(certificate()))
        assert assessment.outcome is Outcome.RELEASED
        assert assessment.reasons == ()
        assert assessment.mismatches == ()
        assert assessment.awaited == ()

    def test_unregulated_items_beside_regulated_ones_need_no_certificate(self, requirements):
        items = [goods_item(1, documents=CITING), goods_item(2, commodity_code=LAPTOPS)]
        assert assess(requirements, declaration(*items), received(certificate())).outcome is Outcome.RELEASED

    def test_api_examples_are_released(self, requirements):
        # The README's story: the example declaration and the example certificate clear plant health.
        assessment = assess(requirements, declaration(), received(certificate()))
        assert assessment.outcome is Outcome.RELEASED
