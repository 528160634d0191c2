"""Duties and taxes of a declaration, and whether they are secured for release (pure).

Rounding: each goods item's customs value is its price converted to national currency and rounded half up to
the penny; its duty (the tariff's ad valorem rate of that value) and its VAT (the VAT rate of the customs value
plus the duty) are each rounded down to the penny. Totals are sums of the rounded item amounts.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from functools import cached_property

from services.contract.declaration import Declaration, DeclarationType, GoodsItem
from services.customs.domain.exchange_rates import PENNY, ExchangeRates
from services.customs.domain.tariff import Tariff, UnknownCommodityCode

PREFERENCE_REGIME = "300"
DEFERMENT_AUTHORISATION = "DPO"
GUARANTEE_AUTHORISATION = "CGU"
GUARANTEE_WAIVER = "0"
"""Guarantee type (D.E. 8/2) stating that no guarantee is given, e.g. the samples' "Guaranteenotrequired"."""
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ItemDuties:
    goods_item: int
    measure_code: str
    customs_value: Decimal
    duty_rate: Decimal
    preference: str | None
    """The preferential origin whose rate applied, when one did."""
    preference_refused: bool
    """A preference was claimed but the tariff grants none to that origin: the third-country rate applied."""
    duty: Decimal
    vat_rate: Decimal
    vat: Decimal


@dataclass(frozen=True)
class DutyAssessment:
    """Totals are summed once, on first use."""

    currency: str
    items: tuple[ItemDuties, ...]

    @cached_property
    def duty(self) -> Decimal:
        return sum((item.duty for item in self.items), ZERO)

    @cached_property
    def vat(self) -> Decimal:
        return sum((item.vat for item in self.items), ZERO)

    @cached_property
    def total(self) -> Decimal:
        return self.duty + self.vat

    def as_details(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "duty": str(self.duty),
            "vat": str(self.vat),
            "total": str(self.total),
            "items": [
                {
                    "goods_item": item.goods_item,
                    "measure": item.measure_code,
                    "customs_value": str(item.customs_value),
                    "duty_rate": str(item.duty_rate),
                    "preference": item.preference,
                    "preference_refused": item.preference_refused,
                    "duty": str(item.duty),
                    "vat_rate": str(item.vat_rate),
                    "vat": str(item.vat),
                }
                for item in self.items
            ],
        }


class Security(StrEnum):
    """How the amount due is secured so the goods may be released before it is paid."""

    DEFERMENT = "deferment"
    GUARANTEE = "guarantee"
    PAID = "paid"
    NOTHING_DUE = "nothing_due"


def assess_duties(declaration: Declaration, tariff: Tariff, rates: ExchangeRates, on: date) -> DutyAssessment:
    """Duty and VAT of every goods item of an import; exports and transit owe none here.

    Raises UnknownCommodityCode for the first item the tariff does not cover, and MissingExchangeRate.
    """
    items = []
    for item in declaration.goods_items:
        measure = tariff.measure(item.full_commodity_code, on)
        if measure is None:
            raise UnknownCommodityCode(item.sequence, item.full_commodity_code, on)
        if declaration.type is not DeclarationType.IMPORT:
            continue
        value = rates.to_national(item.value.value, item.value.currency, on)
        claimed = _claimed_preference(item)
        rate = measure.preferences.get(claimed) if claimed else None
        duty_rate = measure.third_country_duty if rate is None else rate
        duty = _percent(value, duty_rate)
        vat_rate = tariff.vat.rate(item.national_additional_codes)
        items.append(
            ItemDuties(
                goods_item=item.sequence,
                measure_code=measure.code,
                customs_value=value,
                duty_rate=duty_rate,
                preference=claimed if rate is not None else None,
                preference_refused=claimed is not None and rate is None,
                duty=duty,
                vat_rate=vat_rate,
                vat=_percent(value + duty, vat_rate),
            )
        )
    return DutyAssessment(tariff.currency, tuple(items))


def security(declaration: Declaration, duties: DutyAssessment, paid: Decimal = ZERO) -> Security | None:
    """What secures the amount due, or None when release must wait for a payment.

    A deferment (DPO) or comprehensive guarantee (CGU) authorisation counts when the declarant or importer holds
    it; a guarantee reference on the declaration counts too, unless its type is a waiver (no guarantee given).
    """
    if duties.total == ZERO:
        return Security.NOTHING_DUE
    if paid >= duties.total:
        return Security.PAID
    holders = {declaration.declarant.id, declaration.importer.id} - {None}
    held = {a.category_code for a in declaration.authorisations if a.holder_id in holders}
    if DEFERMENT_AUTHORISATION in held:
        return Security.DEFERMENT
    guaranteed = any(g.reference and g.type_code != GUARANTEE_WAIVER for g in declaration.guarantees)
    if GUARANTEE_AUTHORISATION in held or guaranteed:
        return Security.GUARANTEE
    return None


def _claimed_preference(item: GoodsItem) -> str | None:
    """The origin whose preference the item claims: its preferential origin, or its origin under regime 300."""
    if item.preferential_origin is not None:
        return item.preferential_origin
    if any(line.regime_code == PREFERENCE_REGIME for line in item.duties):
        return item.origin_country
    return None


def _percent(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate / 100).quantize(PENNY, ROUND_DOWN)
