"""A customs decision moving on: inspection results and payments, from the decision before (pure)."""

from decimal import Decimal
from typing import Any

import pytest

from services.contract.events import InspectionResult, Outcome, Reason
from services.customs.domain.control import Inspection, after_inspection, after_payment, after_referral
from services.customs.domain.lanes import Lane
from services.customs.domain.rulebook import CustomsDecision

UNSECURED = Reason(code="DUTY_UNSECURED", text="1467.24 GBP due")
YELLOW = Reason(code="LANE_YELLOW", text="R-TEXTILES-ORIGIN (items 1): documentary check")


def decision(
    outcome: Outcome, *reasons: Reason, lane: Lane = Lane.GREEN, total: str = "1467.24", **details: Any
) -> CustomsDecision:
    return CustomsDecision(
        outcome, list(reasons), {"duties": {"total": total, "currency": "GBP"}, "security": None, **details}, lane
    )


def inspection(result: InspectionResult, referred_to: str | None = None) -> Inspection:
    return Inspection(result, "checked", referred_to, "Officer Jones")


class TestPayment:
    def test_payment_of_the_whole_amount_releases_goods_held_only_for_it(self) -> None:
        after = after_payment(decision(Outcome.HELD, UNSECURED), Decimal("1467.24"))
        assert after is not None
        assert after.outcome is Outcome.RELEASED
        assert [reason.code for reason in after.reasons] == ["DUTY_PAID"]
        assert (after.details["security"], after.details["paid"]) == ("paid", "1467.24")

    def test_a_part_payment_changes_nothing(self) -> None:
        assert after_payment(decision(Outcome.HELD, UNSECURED), Decimal("1467.23")) is None

    def test_paying_does_not_end_an_open_documentary_check(self) -> None:
        held = decision(Outcome.HELD, YELLOW, UNSECURED, lane=Lane.YELLOW)
        after = after_payment(held, Decimal("2000"))
        assert after is not None
        assert after.outcome is Outcome.HELD
        assert [reason.code for reason in after.reasons] == ["LANE_YELLOW", "DUTY_PAID"]

    def test_paying_after_the_officer_released_releases(self) -> None:
        inspected = decision(Outcome.HELD, UNSECURED, lane=Lane.RED, inspection={"result": "release"})
        after = after_payment(inspected, Decimal("1467.24"))
        assert after is not None
        assert after.outcome is Outcome.RELEASED

    def test_a_payment_on_a_secured_decision_changes_nothing(self) -> None:
        assert after_payment(decision(Outcome.RELEASED), Decimal("10")) is None

    def test_paying_refused_goods_leaves_them_refused(self) -> None:
        refused = decision(Outcome.REFUSED, Reason(code="GOODS_PROHIBITED", text="ivory"), UNSECURED, lane=Lane.RED)
        after = after_payment(refused, Decimal("1467.24"))
        assert after is not None
        assert after.outcome is Outcome.REFUSED


class TestInspection:
    def test_release_ends_the_control(self) -> None:
        after = after_inspection(decision(Outcome.HELD, YELLOW, lane=Lane.YELLOW), inspection(InspectionResult.RELEASE))
        assert after.outcome is Outcome.RELEASED
        assert [reason.code for reason in after.reasons] == ["INSPECTION_RELEASED"]
        assert after.details["inspection"]["officer"] == "Officer Jones"
        assert after.lane is Lane.YELLOW

    def test_release_of_goods_whose_duties_are_unsecured_still_holds_for_payment(self) -> None:
        held = decision(Outcome.HELD, YELLOW, UNSECURED, lane=Lane.YELLOW)
        after = after_inspection(held, inspection(InspectionResult.RELEASE))
        assert after.outcome is Outcome.HELD
        assert [reason.code for reason in after.reasons] == ["INSPECTION_RELEASED", "DUTY_UNSECURED"]

    def test_seizure_refuses(self) -> None:
        after = after_inspection(decision(Outcome.HELD, YELLOW, lane=Lane.RED), inspection(InspectionResult.SEIZE))
        assert after.outcome is Outcome.REFUSED
        assert [reason.code for reason in after.reasons] == ["GOODS_SEIZED"]

    @pytest.mark.parametrize("held_for_payment", [False, True])
    def test_referral_holds_and_names_the_agency(self, held_for_payment: bool) -> None:
        reasons = (YELLOW, UNSECURED) if held_for_payment else (YELLOW,)
        after = after_inspection(
            decision(Outcome.HELD, *reasons, lane=Lane.RED), inspection(InspectionResult.REFER, "wildlife")
        )
        assert after.outcome is Outcome.HELD
        assert after.reasons[0].code == "REFERRED"
        assert "wildlife" in after.reasons[0].text
        assert ("DUTY_UNSECURED" in [r.code for r in after.reasons]) is held_for_payment


class TestReferralIn:
    def test_released_goods_referred_to_customs_are_held_for_its_control(self) -> None:
        released = decision(Outcome.RELEASED, lane=Lane.GREEN, inspection={"result": "release"}, security="deferred")
        after = after_referral(released, "phyto", "undeclared bulbs")
        assert after is not None
        assert after.outcome is Outcome.HELD
        assert [(r.code, r.text) for r in after.reasons] == [
            ("REFERRED_FOR_CONTROL", "referred to customs by phyto: undeclared bulbs")
        ]
        assert after.details["referral"] == {"referred_by": "phyto", "findings": "undeclared bulbs"}
        assert "inspection" not in after.details  # an earlier release does not settle the new control
        assert after.lane is Lane.GREEN

    def test_paying_does_not_end_a_referral_in(self) -> None:
        referred = after_referral(decision(Outcome.HELD, UNSECURED), "phyto", None)
        assert referred is not None
        assert [r.code for r in referred.reasons] == ["REFERRED_FOR_CONTROL", "DUTY_UNSECURED"]
        paid = after_payment(referred, Decimal("1467.24"))
        assert paid is not None
        assert paid.outcome is Outcome.HELD

    def test_an_officer_release_ends_a_referral_in(self) -> None:
        referred = after_referral(decision(Outcome.HELD, YELLOW, lane=Lane.YELLOW, security="deferred"), "phyto", None)
        assert referred is not None
        released = after_inspection(referred, inspection(InspectionResult.RELEASE))
        assert released.outcome is Outcome.RELEASED

    def test_refused_goods_stay_refused(self) -> None:
        assert after_referral(decision(Outcome.REFUSED), "phyto", None) is None
