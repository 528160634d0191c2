"""A plant-health officer's inspection result as phyto's decision (pure).

The officer's result settles the current version of the declaration: certificates arriving afterwards no
longer move it (an amendment, a new version, is assessed afresh). The result and the action ordered decide:

| result  | action              | outcome  | reasons                                    |
| ------- | ------------------- | -------- | ------------------------------------------ |
| release | none                | released | INSPECTION_RELEASED (after the treatment)  |
| seize   | none                | refused  | GOODS_SEIZED                               |
| seize   | treatment_ordered   | held     | TREATMENT_ORDERED, until a later release   |
| seize   | destroyed           | refused  | DESTROYED                                  |
| seize   | re_exported         | refused  | RE_EXPORTED                                |
| refer   | none                | held     | REFERRED                                   |

followed by one PEST_FOUND per pest found. The contract (InspectionRecorded) refuses every other combination.
"""

from collections.abc import Sequence

from services.contract.events import InspectionResult, Outcome, PlantHealthAction, Reason
from services.phyto.domain.assessment import PhytoAssessment
from services.phyto.domain.reasons import Code, reason

_ORDERED = {
    PlantHealthAction.TREATMENT_ORDERED: (Outcome.HELD, Code.TREATMENT_ORDERED),
    PlantHealthAction.DESTROYED: (Outcome.REFUSED, Code.DESTROYED),
    PlantHealthAction.RE_EXPORTED: (Outcome.REFUSED, Code.RE_EXPORTED),
}


def after_inspection(
    result: InspectionResult,
    officer: str,
    findings: str | None,
    referred_to: str | None,
    *,
    pests_found: Sequence[str] = (),
    action: PlantHealthAction | None = None,
    treatment: str | None = None,
) -> PhytoAssessment:
    """Release releases; seize refuses, unless a treatment is ordered, which holds the goods until an officer
    releases the treated goods; destruction and re-export refuse for good; refer holds for another agency."""
    found = f": {findings}" if findings else ""
    pests = tuple(reason(Code.PEST_FOUND, f"{pest} found by {officer}") for pest in pests_found)
    outcome, first = _decided(result, officer, found, referred_to, action, treatment)
    return PhytoAssessment(outcome, (first, *pests), (), ())


def _decided(
    result: InspectionResult,
    officer: str,
    found: str,
    referred_to: str | None,
    action: PlantHealthAction | None,
    treatment: str | None,
) -> tuple[Outcome, Reason]:
    if result is InspectionResult.SEIZE and action in _ORDERED:
        outcome, code = _ORDERED[action]
        if code is Code.TREATMENT_ORDERED:
            return outcome, reason(code, f"held for treatment ordered by {officer} ({treatment}){found}")
        done = "destroyed" if code is Code.DESTROYED else "re-exported"
        return outcome, reason(code, f"{done} on the order of {officer}{found}")
    if result is InspectionResult.SEIZE:
        return Outcome.REFUSED, reason(Code.GOODS_SEIZED, f"seized by {officer}{found}")
    if result is InspectionResult.REFER:
        return Outcome.HELD, reason(Code.REFERRED, f"referred to {referred_to} by {officer}{found}")
    treated = f" after treatment ({treatment})" if treatment else ""
    return Outcome.RELEASED, reason(Code.INSPECTION_RELEASED, f"released by {officer}{treated}{found}")


def after_referral(referred_by: str, findings: str | None) -> PhytoAssessment:
    """Goods another agency referred to plant health are held until a plant-health officer inspects them,
    whatever the certificates say."""
    found = f": {findings}" if findings else ""
    text = f"referred to plant health by {referred_by}{found}"
    return PhytoAssessment(Outcome.HELD, (reason(Code.REFERRED_FOR_INSPECTION, text),), (), ())
