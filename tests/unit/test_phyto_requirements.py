"""What the import requirements ask: measures against pests, points of entry, prohibitions, inspection rates."""

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.contract.certificate import Certificate, SpsNote, Treatment, TreatmentCharacteristic
from services.contract.declaration import Declaration
from services.contract.events import Outcome
from services.contract.keyed_draw import KeyedDraw
from services.contract.rules_file import load_rules
from services.phyto.domain.assessment import PhytoAssessment, PhytoRules, assess
from services.phyto.domain.measures import is_kind
from services.phyto.domain.requirements import ImportRequirements, Inspections, TreatmentRequirement
from tests.unit.builders import (
    AT,
    IMPORT_REQUIREMENTS,
    INSPECTION_DRAW,
    certificate,
    certificate_line,
    declaration,
    document,
    goods_item,
)

MANGOES = "08045000"


@pytest.fixture(scope="module")
def requirements() -> ImportRequirements:
    return load_rules(IMPORT_REQUIREMENTS, ImportRequirements)


def vapour_heat(temperature: str = "47.5 CEL", duration: str = "20 MIN") -> Treatment:
    return Treatment(
        type_code="ZZZ",
        characteristics=[
            TreatmentCharacteristic(code="TTFT", value="Type : Vapour heat treatment"),
            TreatmentCharacteristic(code="TTTM", value=temperature),
        ],
        duration=duration,
    )


def mangoes(
    origin: str = "IN", treatments: Iterable[Treatment] = (), notes: Iterable[SpsNote] = (), **item: Any
) -> tuple[Declaration, dict[str, Certificate]]:
    line = certificate_line(commodity_code="080450", origin_countries=[origin]).model_copy(
        update={
            "scientific_name": "Mangifera indica",
            "treatments": list(treatments),
            "additional_information": list(notes),
        }
    )
    cert = certificate(f"{origin}-2026-1", issuing_country=origin, line_items=[line])
    declared = declaration(
        goods_item(commodity_code=MANGOES, origin_country=origin, documents=[document(cert.number)], **item),
        export_country=origin,
    )
    return declared, {cert.number: cert}


def decide(
    requirements: ImportRequirements,
    declared: Declaration,
    certificates: Mapping[str, Certificate],
    declaration_id: str = "01JD0000000000000000000000",
) -> PhytoAssessment:
    return assess(
        PhytoRules(requirements, "GB", INSPECTION_DRAW), declaration_id, declared, certificates, lodged_at=AT, now=AT
    )


def without_random_draw(requirements: ImportRequirements) -> ImportRequirements:
    return requirements.model_copy(update={"inspections": Inspections(base_rate=Decimal(0))})


class TestPestMeasures:
    def test_vapour_heat_answers_the_fruit_fly(self, requirements):
        declared, certificates = mangoes(treatments=[vapour_heat()])
        assessment = decide(without_random_draw(requirements), declared, certificates)
        assert (assessment.outcome, assessment.reasons) == (Outcome.RELEASED, ())

    def test_no_treatment_nor_declaration(self, requirements):
        declared, certificates = mangoes()
        [reason] = decide(without_random_draw(requirements), declared, certificates).reasons
        assert reason.code == "PEST_MEASURE_MISSING"
        assert "Bactrocera dorsalis" in reason.text

    def test_too_cool_vapour_heat_is_inadequate(self, requirements):
        declared, certificates = mangoes(treatments=[vapour_heat("45 CEL")])
        [reason] = decide(without_random_draw(requirements), declared, certificates).reasons
        assert reason.code == "TREATMENT_INADEQUATE"
        assert "temperature 45 °C, at least 47 °C" in reason.text

    def test_too_short_vapour_heat_is_inadequate(self, requirements):
        declared, certificates = mangoes(treatments=[vapour_heat(duration="10 MIN")])
        [reason] = decide(without_random_draw(requirements), declared, certificates).reasons
        assert reason.code == "TREATMENT_INADEQUATE"

    def test_temperature_in_fahrenheit_is_converted(self, requirements):
        declared, certificates = mangoes(treatments=[vapour_heat("118 FAH")])
        assert decide(without_random_draw(requirements), declared, certificates).reasons == ()

    def test_additional_declaration_answers_the_fruit_fly(self, requirements):
        note = SpsNote(
            subject="ADTLIL", content="The consignment comes from a  Pest Free Area for Bactrocera dorsalis."
        )
        declared, certificates = mangoes(notes=[note])
        assert decide(without_random_draw(requirements), declared, certificates).reasons == ()

    def test_statement_under_another_subject_does_not_count(self, requirements):
        note = SpsNote(subject="DMTLIL", content="pest free area for Bactrocera dorsalis")
        declared, certificates = mangoes(notes=[note])
        assert [r.code for r in decide(without_random_draw(requirements), declared, certificates).reasons] == [
            "PEST_MEASURE_MISSING"
        ]

    def test_origin_without_the_pest_needs_no_measure(self, requirements):
        declared, certificates = mangoes("PE")
        assert decide(requirements, declared, certificates).outcome is Outcome.RELEASED

    def test_additional_declaration_only_pest(self, requirements):
        line = certificate_line(commodity_code="060290", origin_countries=["US"]).model_copy(
            update={"scientific_name": "Ribes"}
        )
        cert = certificate("US-1", issuing_country="US", line_items=[line])
        item = goods_item(commodity_code="06029050", origin_country="US", documents=[document("US-1")])
        declared = declaration(item, export_country="US")
        codes = [r.code for r in decide(without_random_draw(requirements), declared, {"US-1": cert}).reasons]
        assert codes == ["ADDITIONAL_DECLARATION_MISSING", "ADDITIONAL_DECLARATION_MISSING"]  # Xylella, Popillia

    def test_treatment_only_pest(self, requirements):
        line = certificate_line(commodity_code="440710", origin_countries=["CN"]).model_copy(
            update={"scientific_name": "Populus"}
        )
        cert = certificate("CN-1", issuing_country="CN", line_items=[line], point_of_entry="GBFXT")
        item = goods_item(commodity_code="4407109100", origin_country="CN", documents=[document("CN-1")])
        declared = declaration(item, export_country="CN", point_of_entry="GBFXT")
        assert [r.code for r in decide(requirements, declared, {"CN-1": cert}).reasons] == ["TREATMENT_MISSING"]

    def test_a_treatment_is_recognised_by_its_name_not_a_substring(self):
        required = TreatmentRequirement(name="cold treatment", type_names=("cold",))
        scolding = Treatment(characteristics=[TreatmentCharacteristic(code="TTFT", value="Scolding")])
        assert not is_kind(scolding, required)


class TestPointOfEntry:
    def test_plants_for_planting_enter_at_a_permitted_point(self, requirements):
        item = goods_item(commodity_code="06029050", documents=[document("NL-1")])
        line = certificate_line(commodity_code="060290").model_copy(update={"scientific_name": "Ribes"})
        cert = certificate("NL-1", line_items=[line], point_of_entry="GBPME")
        declared = declaration(item, point_of_entry=None)
        reasons = decide(without_random_draw(requirements), declared, {"NL-1": cert}).reasons
        assert [r.code for r in reasons] == ["POINT_OF_ENTRY_NOT_PERMITTED"]
        assert "GBPME is not a permitted point of entry" in reasons[0].text

    def test_no_point_of_entry_anywhere(self, requirements):
        item = goods_item(commodity_code="06029050", documents=[document("NL-1")])
        line = certificate_line(commodity_code="060290").model_copy(update={"scientific_name": "Ribes"})
        cert = certificate("NL-1", line_items=[line], point_of_entry=None)
        declared = declaration(item, point_of_entry=None)
        codes = [r.code for r in decide(without_random_draw(requirements), declared, {"NL-1": cert}).reasons]
        assert codes == ["POINT_OF_ENTRY_MISSING"]

    def test_categories_without_a_list_enter_anywhere(self, requirements):
        roses = declaration(goods_item(documents=[document("NL-1")]), point_of_entry="GBPME")
        cert = certificate("NL-1", point_of_entry="GBPME")
        assert decide(requirements, roses, {"NL-1": cert}).outcome is Outcome.RELEASED


class TestProhibited:
    def test_seed_potatoes_are_refused_whatever_the_certificate(self, requirements):
        item = goods_item(commodity_code="07011000", origin_country="NL", documents=[document("NL-1")])
        assessment = decide(requirements, declaration(item), {})
        assert assessment.outcome is Outcome.REFUSED
        assert [r.code for r in assessment.reasons] == ["PROHIBITED_COMBINATION"]

    def test_except_origins_are_not_refused(self, requirements):
        item = goods_item(commodity_code="07011000", origin_country="CH", documents=[document("CH-1")])
        assert decide(requirements, declaration(item), {}).outcome is Outcome.HELD  # awaiting its certificate


class TestInspectionDraw:
    def test_the_draw_is_keyed_and_repeatable(self):
        assert INSPECTION_DRAW("v1", "01J-A") == INSPECTION_DRAW("v1", "01J-A")
        assert INSPECTION_DRAW("v1", "01J-A") != KeyedDraw(b"another-key-0123456789")("v1", "01J-A")
        assert 0 <= INSPECTION_DRAW("v1", "01J-A") < 1

    def test_a_short_key_is_refused(self):
        with pytest.raises(ValueError, match="at least 16 bytes"):
            KeyedDraw(b"short")

    def test_high_risk_pairs_are_drawn_at_their_higher_rate(self, requirements):
        assert requirements.inspection_rate("IN", MANGOES) == (Decimal("0.50"), True)
        assert requirements.inspection_rate("PE", MANGOES) == (requirements.inspections.base_rate, False)

    def test_selected_consignments_are_held_for_inspection(self, requirements):
        declared, certificates = mangoes(treatments=[vapour_heat()])
        decisions = [decide(requirements, declared, certificates, f"01JDRAW{n:019d}") for n in range(200)]
        selected = [d for d in decisions if d.inspection is not None and d.inspection.selected]
        assert 60 < len(selected) < 140  # rate 0.50
        assert {(d.outcome, tuple(r.code for r in d.reasons)) for d in selected} == {
            (Outcome.HELD, ("INSPECTION_SELECTED",))
        }
        assert "high-risk origin and commodity, rate 0.5" in selected[0].reasons[0].text
        assert {d.outcome for d in decisions if d not in selected} == {Outcome.RELEASED}

    def test_a_full_rate_selects_every_consignment(self, requirements):
        always = requirements.model_copy(update={"inspections": Inspections(base_rate=Decimal(1))})
        roses = declaration(goods_item(documents=[document("NL-1")]))
        assessment = decide(always, roses, {"NL-1": certificate("NL-1")})
        assert [r.code for r in assessment.reasons] == ["INSPECTION_SELECTED"]

    def test_no_draw_while_a_certificate_is_awaited(self, requirements):
        always = requirements.model_copy(update={"inspections": Inspections(base_rate=Decimal(1))})
        assessment = decide(always, declaration(goods_item(documents=[document("NL-1")])), {})
        assert ([r.code for r in assessment.reasons], assessment.inspection) == (["CERTIFICATE_AWAITED"], None)


class TestRequirementsFile:
    def test_shipped_file_has_a_version_and_date(self, requirements):
        assert requirements.version
        assert requirements.effective_from >= date(2026, 11, 1)

    def test_a_treatment_must_be_recognisable(self):
        with pytest.raises(ValidationError, match="type_codes or type_names"):
            TreatmentRequirement(name="heat")

    def test_norway_is_a_country_not_false(self, requirements):
        assert "NO" in requirements.nppo_countries
