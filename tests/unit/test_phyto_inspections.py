"""A plant-health officer's inspection result as phyto's decision."""

from datetime import UTC, datetime

import pytest

from services.contract.events import InspectionRecorded, InspectionResult, Outcome, PlantHealthAction
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


PESTS = ("Bactrocera dorsalis", "Thrips palmi")
TREATMENT = "cold treatment, 18 days at 1.1 °C"
# result, action -> outcome, the decisive reason (PEST_FOUND reasons follow it, one per pest)
DECIDED = [
    (InspectionResult.RELEASE, None, Outcome.RELEASED, "INSPECTION_RELEASED"),
    (InspectionResult.RELEASE, PlantHealthAction.NONE, Outcome.RELEASED, "INSPECTION_RELEASED"),
    (InspectionResult.SEIZE, None, Outcome.REFUSED, "GOODS_SEIZED"),
    (InspectionResult.SEIZE, PlantHealthAction.NONE, Outcome.REFUSED, "GOODS_SEIZED"),
    (InspectionResult.SEIZE, PlantHealthAction.TREATMENT_ORDERED, Outcome.HELD, "TREATMENT_ORDERED"),
    (InspectionResult.SEIZE, PlantHealthAction.DESTROYED, Outcome.REFUSED, "DESTROYED"),
    (InspectionResult.SEIZE, PlantHealthAction.RE_EXPORTED, Outcome.REFUSED, "RE_EXPORTED"),
    (InspectionResult.REFER, None, Outcome.HELD, "REFERRED"),
    (InspectionResult.REFER, PlantHealthAction.NONE, Outcome.HELD, "REFERRED"),
]


@pytest.mark.parametrize("pests", [(), PESTS], ids=["no pests", "pests"])
@pytest.mark.parametrize(("result", "action", "outcome", "code"), DECIDED)
def test_result_and_action_decide_and_every_pest_is_a_reason(
    result: InspectionResult, action: PlantHealthAction | None, outcome: Outcome, code: str, pests: tuple[str, ...]
) -> None:
    ordered = action is PlantHealthAction.TREATMENT_ORDERED
    treatment = TREATMENT if ordered or (result is InspectionResult.RELEASE and pests) else None
    # the contract allows this combination
    InspectionRecorded(
        inspection_id="i",
        agency="phyto",
        declaration_id="d",
        declaration_version=1,
        result=result,
        referred_to="customs" if result is InspectionResult.REFER else None,
        officer="officer A",
        recorded_at=datetime(2026, 11, 23, tzinfo=UTC),
        pests_found=list(pests),
        action=action,
        treatment=treatment,
    )
    referred_to = "customs" if result is InspectionResult.REFER else None
    decision = after_inspection(
        result, "officer A", None, referred_to, pests_found=pests, action=action, treatment=treatment
    )
    assert decision.outcome is outcome
    assert [r.code for r in decision.reasons] == [code] + ["PEST_FOUND"] * len(pests)
    assert [r.text for r in decision.reasons[1:]] == [f"{pest} found by officer A" for pest in pests]


def test_a_treatment_order_holds_the_goods_naming_the_treatment() -> None:
    decision = after_inspection(
        InspectionResult.SEIZE,
        "officer A",
        "larvae in 3 of 40 cartons",
        None,
        pests_found=["Bactrocera dorsalis"],
        action=PlantHealthAction.TREATMENT_ORDERED,
        treatment=TREATMENT,
    )
    assert decision.outcome is Outcome.HELD
    assert [(r.code, r.text) for r in decision.reasons] == [
        (
            "TREATMENT_ORDERED",
            "held for treatment ordered by officer A (cold treatment, 18 days at 1.1 °C): larvae in 3 of 40 cartons",
        ),
        ("PEST_FOUND", "Bactrocera dorsalis found by officer A"),
    ]


def test_the_release_of_treated_goods_names_the_treatment() -> None:
    decision = after_inspection(
        InspectionResult.RELEASE,
        "officer B",
        "no live larvae",
        None,
        pests_found=["Bactrocera dorsalis"],
        treatment=TREATMENT,
    )
    assert decision.outcome is Outcome.RELEASED
    assert (
        decision.reasons[0].text
        == "released by officer B after treatment (cold treatment, 18 days at 1.1 °C): no live larvae"
    )


@pytest.mark.parametrize(
    ("action", "text"),
    [
        (PlantHealthAction.DESTROYED, "destroyed on the order of officer A: bore holes in pallets"),
        (PlantHealthAction.RE_EXPORTED, "re-exported on the order of officer A: bore holes in pallets"),
    ],
)
def test_destruction_and_re_export_refuse_the_goods(action: PlantHealthAction, text: str) -> None:
    decision = after_inspection(InspectionResult.SEIZE, "officer A", "bore holes in pallets", None, action=action)
    assert decision.outcome is Outcome.REFUSED
    assert [r.text for r in decision.reasons] == [text]
