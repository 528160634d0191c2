"""What a post-clearance correction changes in the duties owed (pure).

Both the released declaration and its correction are assessed with the same reference data, on the date the
declaration was first accepted (the customs debt arose then), so the difference is the correction's alone.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.contract.declaration import Declaration
from services.contract.events import Reason
from services.customs.domain.duties import DutyAssessment, assess_duties
from services.customs.domain.exchange_rates import MissingExchangeRate
from services.customs.domain.rulebook import Rulebook
from services.customs.domain.tariff import UnknownCommodityCode


@dataclass(frozen=True)
class CorrectionAssessment:
    accepted: bool
    reasons: list[Reason]
    before: DutyAssessment | None
    after: DutyAssessment | None

    @property
    def difference(self) -> Decimal | None:
        """What more is owed (above zero) or repaid (below zero); None when either side could not be assessed."""
        if self.before is None or self.after is None:
            return None
        return self.after.total - self.before.total


def assess_correction(
    rulebook: Rulebook, released: Declaration, corrected: Declaration, on: date
) -> CorrectionAssessment:
    before = _duties(rulebook, released, on, "the released declaration")
    after = _duties(rulebook, corrected, on, "the corrected declaration")
    if isinstance(before, Reason) or isinstance(after, Reason):
        reasons = [side for side in (before, after) if isinstance(side, Reason)]
        return CorrectionAssessment(False, reasons, _or_none(before), _or_none(after))
    difference = after.total - before.total
    currency = after.currency
    if difference > 0:
        reason = Reason(
            code="DUTY_DUE_AFTER_CORRECTION",
            text=f"{difference} {currency} more is due (duty {after.duty - before.duty}, VAT {after.vat - before.vat})",
        )
    elif difference < 0:
        reason = Reason(
            code="DUTY_REPAYABLE_AFTER_CORRECTION",
            text=f"{-difference} {currency} is repaid (duty {before.duty - after.duty}, VAT {before.vat - after.vat})",
        )
    else:
        reason = Reason(code="DUTY_UNCHANGED_AFTER_CORRECTION", text=f"the duties owed stay {after.total} {currency}")
    return CorrectionAssessment(True, [reason], before, after)


def _duties(rulebook: Rulebook, declaration: Declaration, on: date, which: str) -> DutyAssessment | Reason:
    try:
        return assess_duties(declaration, rulebook.tariff, rulebook.exchange_rates, on)
    except UnknownCommodityCode as exc:
        return Reason(code="UNKNOWN_COMMODITY_CODE", text=f"{which}: {exc}"[:512])
    except MissingExchangeRate as exc:
        return Reason(code="EXCHANGE_RATE_MISSING", text=f"{which}: {exc}"[:512])


def _or_none(side: DutyAssessment | Reason) -> DutyAssessment | None:
    return side if isinstance(side, DutyAssessment) else None
