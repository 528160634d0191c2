"""Exchange rates (data) by period: how many units of a currency one unit of the national currency buys."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from pydantic import Field, model_validator

from services.contract.codes import CurrencyCode
from services.customs.domain.reference import ReferenceData, Remembered, Validity

PENNY = Decimal("0.01")


class MissingExchangeRate(Exception):
    def __init__(self, currency: str, on: date) -> None:
        self.currency = currency
        self.on = on
        super().__init__(f"no exchange rate for {currency} applies on {on}")


class RatePeriod(Validity):
    rates: dict[CurrencyCode, Decimal] = Field(description="Units of the currency per one unit of national currency")

    @model_validator(mode="after")
    def _positive(self) -> "RatePeriod":
        for currency, rate in self.rates.items():
            if rate <= 0:
                raise ValueError(f"rate for {currency} must be positive, not {rate}")
        return self


class ExchangeRates(ReferenceData):
    currency: CurrencyCode = Field(description="The national currency")
    periods: tuple[RatePeriod, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_rate_a_day(self) -> "ExchangeRates":
        for index, period in enumerate(self.periods):
            for other in self.periods[index + 1 :]:
                shared = sorted(set(period.rates) & set(other.rates))
                if shared and period.overlaps(other):
                    raise ValueError(
                        f"periods from {period.valid_from} and from {other.valid_from} both give a rate for "
                        f"{', '.join(shared)} on the same days"
                    )
        return self

    def to_national(self, amount: Decimal, currency: str, on: date) -> Decimal:
        """The amount in national currency, rounded half up to the penny (the customs value is in pennies)."""
        if currency == self.currency:
            return amount.quantize(PENNY, ROUND_HALF_UP)
        key = (currency, on)
        found = self._found
        rate = found[key] if key in found else found.keep(key, self._rate(currency, on))
        if rate is None:
            raise MissingExchangeRate(currency, on)
        return (amount / rate).quantize(PENNY, ROUND_HALF_UP)

    def _rate(self, currency: str, on: date) -> Decimal | None:
        applying = (period for period in self.periods if period.applies_on(on) and currency in period.rates)
        return next((period.rates[currency] for period in applying), None)

    @cached_property
    def _found(self) -> Remembered[tuple[str, date], Decimal | None]:
        return Remembered()
