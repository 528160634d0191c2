"""A plant-health officer's inspection result as phyto's decision (pure).

The officer's result settles the current version of the declaration: certificates arriving afterwards no
longer move it (an amendment, a new version, is assessed afresh).
"""

from services.contract.events import InspectionResult, Outcome, Reason
from services.phyto.domain.assessment import PhytoAssessment


def after_inspection(
    result: InspectionResult, officer: str, findings: str | None, referred_to: str | None
) -> PhytoAssessment:
    """Release releases, seize refuses (the goods are destroyed or sent back), refer holds for another agency."""
    found = f": {findings}" if findings else ""
    if result is InspectionResult.SEIZE:
        reason = Reason(code="GOODS_SEIZED", text=f"seized by {officer}{found}"[:512])
        return PhytoAssessment(Outcome.REFUSED, (reason,), (), ())
    if result is InspectionResult.REFER:
        reason = Reason(code="REFERRED", text=f"referred to {referred_to} by {officer}{found}"[:512])
        return PhytoAssessment(Outcome.HELD, (reason,), (), ())
    reason = Reason(code="INSPECTION_RELEASED", text=f"released by {officer}{found}"[:512])
    return PhytoAssessment(Outcome.RELEASED, (reason,), (), ())


def after_referral(referred_by: str, findings: str | None) -> PhytoAssessment:
    """Goods another agency referred to plant health are held until a plant-health officer inspects them,
    whatever the certificates say."""
    found = f": {findings}" if findings else ""
    reason = Reason(code="REFERRED_FOR_INSPECTION", text=f"referred to plant health by {referred_by}{found}"[:512])
    return PhytoAssessment(Outcome.HELD, (reason,), (), ())
