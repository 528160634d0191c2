"""The tariff (data): duty rates per commodity code, preferential rates by origin, and VAT rates."""

from datetime import date
from decimal import Decimal
from functools import cached_property

from pydantic import Field, model_validator

from services.contract.codes import CountryCode, CurrencyCode
from services.customs.domain.reference import ReferenceData, ReferenceModel, Remembered, Validity

Percent = Decimal


class UnknownCommodityCode(Exception):
    """No measure of the tariff in force covers a declared commodity code."""

    def __init__(self, goods_item: int, commodity_code: str, on: date) -> None:
        self.goods_item = goods_item
        self.commodity_code = commodity_code
        super().__init__(
            f"goods item {goods_item}: commodity code {commodity_code} is not in the tariff in force on {on}"
        )


class Measure(Validity):
    """Duty for every commodity code starting with `code`; the longest matching code wins."""

    code: str = Field(pattern=r"^[0-9]{2,10}$")
    description: str = Field(min_length=1)
    third_country_duty: Percent = Field(ge=0, le=1000, description="Ad valorem duty, percent of the customs value")
    preferences: dict[CountryCode, Percent] = Field(
        default_factory=dict, description="Preferential duty by country of preferential origin"
    )


class VatRates(ReferenceModel):
    standard: Percent = Field(ge=0, le=100)
    by_additional_code: dict[str, Percent] = Field(
        default_factory=dict, description="National additional codes that set another rate, e.g. VATZ zero rate"
    )

    def rate(self, national_additional_codes: list[str]) -> Percent:
        for code in national_additional_codes:
            if code in self.by_additional_code:
                return self.by_additional_code[code]
        return self.standard


class Tariff(ReferenceData):
    currency: CurrencyCode = Field(description="The national currency duties are assessed in")
    vat: VatRates
    measures: tuple[Measure, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlapping_measures(self) -> "Tariff":
        for code, measures in self._by_code.items():
            for index, measure in enumerate(measures):
                if any(measure.overlaps(other) for other in measures[:index]):
                    raise ValueError(f"two measures for code {code} apply on the same day")
        return self

    def measure(self, commodity_code: str, on: date) -> Measure | None:
        """The measure of the longest code that starts the commodity code and applies on that day.

        Looks up each prefix of the code (at most 9) rather than scanning a tariff of thousands of measures, and
        remembers the answer for the code and day (the tariff does not change; declarations repeat codes).
        """
        found = self._found
        key = (commodity_code, on)
        if key in found:
            return found[key]
        by_code = self._by_code
        measure = next(
            (
                measure
                for length in range(len(commodity_code), 1, -1)
                for measure in by_code.get(commodity_code[:length], ())
                if measure.applies_on(on)
            ),
            None,
        )
        return found.keep(key, measure)

    @cached_property
    def _by_code(self) -> dict[str, list[Measure]]:
        by_code: dict[str, list[Measure]] = {}
        for measure in self.measures:
            by_code.setdefault(measure.code, []).append(measure)
        return by_code

    @cached_property
    def _found(self) -> Remembered[tuple[str, date], Measure | None]:
        return Remembered()
