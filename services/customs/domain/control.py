"""How a customs decision moves on after it was made (pure): an officer's inspection result, a payment.

Each returns a new decision from the previous one; nothing is edited in place. The lane, the hits and the
duties stay those of the assessment; what changes is whether the control is done and the amount secured.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.contract.events import InspectionResult, Outcome, Reason
from services.customs.domain.duties import Security
from services.customs.domain.rulebook import CustomsDecision

UNSECURED = "DUTY_UNSECURED"


@dataclass(frozen=True)
class Inspection:
    result: InspectionResult
    findings: str | None
    referred_to: str | None
    officer: str


def after_inspection(previous: CustomsDecision, inspection: Inspection) -> CustomsDecision:
    """Release ends the control (release still needs the amount secured); seize refuses; refer holds."""
    findings = f": {inspection.findings}" if inspection.findings else ""
    details = {
        **previous.details,
        "inspection": {
            "result": inspection.result.value,
            "findings": inspection.findings,
            "referred_to": inspection.referred_to,
            "officer": inspection.officer,
        },
    }
    unsecured = [reason for reason in previous.reasons if reason.code == UNSECURED]
    if inspection.result is InspectionResult.SEIZE:
        reason = Reason(code="GOODS_SEIZED", text=f"seized by {inspection.officer}{findings}"[:512])
        return CustomsDecision(Outcome.REFUSED, [reason], details, previous.lane)
    if inspection.result is InspectionResult.REFER:
        text = f"referred to {inspection.referred_to} by {inspection.officer}{findings}"[:512]
        return CustomsDecision(Outcome.HELD, [Reason(code="REFERRED", text=text), *unsecured], details, previous.lane)
    released = Reason(code="INSPECTION_RELEASED", text=f"released by {inspection.officer}{findings}"[:512])
    outcome = Outcome.HELD if unsecured else Outcome.RELEASED
    return CustomsDecision(outcome, [released, *unsecured], details, previous.lane)


def after_referral(previous: CustomsDecision, referred_by: str, findings: str | None) -> CustomsDecision | None:
    """Another agency's officer referred the goods to customs: customs holds them for its own control, whatever
    it decided before, until a customs officer records a result. Goods customs refused stay refused (None)."""
    if previous.outcome is Outcome.REFUSED:
        return None
    found = f": {findings}" if findings else ""
    reason = Reason(code="REFERRED_FOR_CONTROL", text=f"referred to customs by {referred_by}{found}"[:512])
    unsecured = [reason for reason in previous.reasons if reason.code == UNSECURED]
    details = {k: v for k, v in previous.details.items() if k != "inspection"}
    details["referral"] = {"referred_by": referred_by, "findings": findings}
    return CustomsDecision(Outcome.HELD, [reason, *unsecured], details, previous.lane)


def after_payment(previous: CustomsDecision, paid: Decimal) -> CustomsDecision | None:
    """The decision once `paid` (all payments so far, national currency) is recorded; None if nothing changes.

    Only a decision held for want of security moves: the rest of its reasons stay.
    """
    duties = previous.details.get("duties")
    if duties is None or not any(reason.code == UNSECURED for reason in previous.reasons):
        return None
    due = Decimal(duties["total"])
    if paid < due:
        return None
    details: dict[str, Any] = {**previous.details, "paid": str(paid), "security": Security.PAID.value}
    reasons = [reason for reason in previous.reasons if reason.code != UNSECURED]
    reasons.append(Reason(code="DUTY_PAID", text=f"{paid} {duties['currency']} paid against {due} due"))
    return CustomsDecision(_control_outcome(previous), reasons, details, previous.lane)


def _control_outcome(decision: CustomsDecision) -> Outcome:
    """The outcome once the amount is secured: released unless a control is still open or the goods refused."""
    if decision.outcome is Outcome.REFUSED:
        return Outcome.REFUSED
    inspected = decision.details.get("inspection", {}).get("result")
    if inspected == InspectionResult.RELEASE.value:
        return Outcome.RELEASED
    if inspected == InspectionResult.REFER.value or "referral" in decision.details:
        return Outcome.HELD  # a referral in waits for a customs officer's result
    return decision.lane.outcome if decision.lane is not None else Outcome.HELD
