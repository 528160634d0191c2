"""The customs decision on a declaration, from the reference data in force (pure).

A rulebook bundles the risk profile, tariff, exchange rates, trader register and watch lists that were loaded
together; every decision records the version of each.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from services.contract.declaration import Declaration
from services.contract.events import Outcome, Reason
from services.contract.keyed_draw import KeyedDraw
from services.customs.domain.duties import ZERO, DutyAssessment, Security, assess_duties, security
from services.customs.domain.exchange_rates import ExchangeRates, MissingExchangeRate
from services.customs.domain.facts import facts_of
from services.customs.domain.lanes import Lane
from services.customs.domain.risk import RiskProfile
from services.customs.domain.risk_engine import Assessment, Hit, RiskEngine
from services.customs.domain.tariff import Tariff, UnknownCommodityCode
from services.customs.domain.traders import TraderRegister
from services.customs.domain.watch_lists import WatchLists


class RulebookError(Exception):
    """Reference data sets that do not fit together (a rule naming a missing watch list...)."""


@dataclass(frozen=True)
class CustomsDecision:
    outcome: Outcome
    reasons: list[Reason]
    details: dict[str, Any]
    lane: Lane | None
    """None when the declaration could not be assessed (unknown commodity code, no exchange rate)."""


@dataclass(frozen=True)
class Rulebook:
    profile: RiskProfile
    tariff: Tariff
    exchange_rates: ExchangeRates
    trader_register: TraderRegister
    watch_lists: WatchLists
    draw: KeyedDraw
    engine: RiskEngine = field(init=False)

    def __post_init__(self) -> None:
        unknown = {rule.watch_list for rule in self.profile.rules if rule.watch_list} - self.watch_lists.names
        if unknown:
            raise RulebookError(f"risk profile names watch lists that do not exist: {', '.join(sorted(unknown))}")
        if self.tariff.currency != self.exchange_rates.currency:
            raise RulebookError(
                f"tariff is in {self.tariff.currency} but exchange rates are against {self.exchange_rates.currency}"
            )
        object.__setattr__(self, "engine", RiskEngine(self.profile, self.draw))

    @property
    def versions(self) -> dict[str, str]:
        return {
            "risk_profile": self.profile.version,
            "tariff": self.tariff.version,
            "exchange_rates": self.exchange_rates.version,
            "trader_register": self.trader_register.version,
            "watch_lists": self.watch_lists.version,
        }

    def with_profile(self, profile: RiskProfile) -> "Rulebook":
        return Rulebook(profile, self.tariff, self.exchange_rates, self.trader_register, self.watch_lists, self.draw)

    def assess_risk(self, declaration_id: str, declaration: Declaration, on: date) -> Assessment:
        facts = facts_of(
            declaration_id,
            declaration,
            rates=self.exchange_rates,
            register=self.trader_register,
            watch_lists=self.watch_lists,
            on=on,
        )
        return self.engine.assess(facts)

    def decide(
        self, declaration_id: str, declaration: Declaration, *, on: date, paid: Decimal = ZERO
    ) -> CustomsDecision:
        """Duties, then risk, then whether what is due is secured. Unknown codes refuse; a missing rate holds."""
        versions = {"versions": self.versions}
        try:
            duties = assess_duties(declaration, self.tariff, self.exchange_rates, on)
            assessment = self.assess_risk(declaration_id, declaration, on)
        except UnknownCommodityCode as exc:
            reason = Reason(code="UNKNOWN_COMMODITY_CODE", text=str(exc))
            return CustomsDecision(Outcome.REFUSED, [reason], {**versions, "goods_item": exc.goods_item}, None)
        except MissingExchangeRate as exc:
            text = f"{exc}: customs cannot value the goods until the rate is published"
            reason = Reason(code="EXCHANGE_RATE_MISSING", text=text)
            return CustomsDecision(Outcome.HELD, [reason], versions, None)
        secured = security(declaration, duties, paid)
        details = {
            **versions,
            "lane": assessment.lane.value,
            "rules_hit": sorted({hit.rule_id for hit in assessment.hits}),
            "hits": [_hit_details(hit) for hit in assessment.hits],
            "benefits": sorted(assessment.benefits),
            "priority": assessment.priority,
            "duties": duties.as_details(),
            "paid": str(paid),
            "security": secured.value if secured else None,
        }
        reasons = _reasons(assessment, duties, secured)
        if assessment.refused:
            outcome = Outcome.REFUSED
        elif secured is None:
            outcome = Outcome.HELD
        else:
            outcome = assessment.lane.outcome
        return CustomsDecision(outcome, reasons, details, assessment.lane)


def _reasons(assessment: Assessment, duties: DutyAssessment, secured: Security | None) -> list[Reason]:
    reasons = []
    by_rule: dict[tuple[str, Lane, bool, str], list[int]] = {}
    for hit in assessment.hits:
        if hit.lane is not Lane.GREEN or hit.refuse:
            by_rule.setdefault((hit.rule_id, hit.lane, hit.refuse, hit.reason), []).append(hit.goods_item or 0)
    for (rule_id, lane, refuse, text), items in by_rule.items():
        where = f" (items {', '.join(map(str, items))})" if any(items) else ""
        code = "GOODS_PROHIBITED" if refuse else f"LANE_{lane.value.upper()}"
        reasons.append(Reason(code=code, text=f"{rule_id}{where}: {text}"[:512]))
    for item in duties.items:
        if item.preference_refused:
            text = f"goods item {item.goods_item}: no preference for this origin under {item.measure_code}; "
            reasons.append(Reason(code="PREFERENCE_REFUSED", text=text + f"third-country duty {item.duty_rate}%"))
    if secured is None:
        text = (
            f"{duties.total} {duties.currency} due (duty {duties.duty}, VAT {duties.vat}) is neither paid "
            "nor covered by a deferment (DPO) or guarantee (CGU) authorisation"
        )
        reasons.append(Reason(code="DUTY_UNSECURED", text=text))
    return reasons


def _hit_details(hit: Hit) -> dict[str, Any]:
    return {
        "rule": hit.rule_id,
        "lane": hit.lane.value,
        "goods_item": hit.goods_item,
        "reason": hit.reason,
        "relieved_from": hit.relieved_from.value if hit.relieved_from else None,
        "refuse": hit.refuse,
    }
