"""A plant-health officer's inspection result as phyto's decision."""

import pytest

from services.contract.events import InspectionResult, Outcome
from services.phyto.domain.inspections import after_inspection, after_referral


@pytest.mark.parametrize(
    ("result", "outcome", "code", "text"),
    [
        (InspectionResult.RELEASE, Outcome.RELEASED, "INSPECTION_RELEASED", "released by officer A: roses from NL"),
        (InspectionResult.SEIZE, Outcome.REFUSED, "GOODS_SEIZED", "seized by officer A: roses from NL"),
        (InspectionResult.REFER, Outcome.HELD, "REFERRED", "referred to wildlife by officer A: roses from NL"),
    ],
)
def test_the_result_decides_with_the_officer_and_findings_in_the_reason(
    result: InspectionResult, outcome: Outcome, code: str, text: str
) -> None:
    referred_to = "wildlife" if result is InspectionResult.REFER else None
    decision = after_inspection(result, "officer A", "roses from NL", referred_to)
    assert decision.outcome is outcome
    assert [(r.code, r.text) for r in decision.reasons] == [(code, text)]
    assert (decision.mismatches, decision.awaited) == ((), ())


def test_without_findings_the_reason_names_the_officer_alone() -> None:
    [reason] = after_inspection(InspectionResult.RELEASE, "officer A", None, None).reasons
    assert reason.text == "released by officer A"


def test_long_findings_are_cut_to_the_reason_limit() -> None:
    [reason] = after_inspection(InspectionResult.SEIZE, "officer A", "x" * 600, None).reasons
    assert len(reason.text) == 512


def test_goods_referred_in_are_held_for_a_plant_health_inspection() -> None:
    decision = after_referral("customs", "bore holes in pallets")
    assert decision.outcome is Outcome.HELD
    assert [(r.code, r.text) for r in decision.reasons] == [
        ("REFERRED_FOR_INSPECTION", "referred to plant health by customs: bore holes in pallets")
    ]
