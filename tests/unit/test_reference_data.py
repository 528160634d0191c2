"""Customs reference data: the trader register, watch lists, exchange rate periods, validity, and the shipped files."""

import re
from datetime import date
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from services.contract.rules_file import load_rules
from services.customs.domain import reference
from services.customs.domain.exchange_rates import ExchangeRates, MissingExchangeRate, RatePeriod
from services.customs.domain.reference import ReferenceData, Remembered, Validity
from services.customs.domain.risk import RiskProfile
from services.customs.domain.tariff import Tariff
from services.customs.domain.traders import AeoProgramme, TraderRegister
from services.customs.domain.watch_lists import WatchLists
from services.customs.settings import DATA

ON = date(2026, 11, 20)
AEOF_TRADER = "GB987654321000"


@pytest.fixture(scope="module")
def register() -> TraderRegister:
    return load_rules(DATA / "trader-register.yaml", TraderRegister)


@pytest.fixture(scope="module")
def watch_lists() -> WatchLists:
    return load_rules(DATA / "watch-lists.yaml", WatchLists)


@pytest.fixture(scope="module")
def rates() -> ExchangeRates:
    return load_rules(DATA / "exchange-rates.yaml", ExchangeRates)


@pytest.mark.parametrize(
    ("file", "model"),
    [
        ("risk-profile.yaml", RiskProfile),
        ("tariff.yaml", Tariff),
        ("exchange-rates.yaml", ExchangeRates),
        ("trader-register.yaml", TraderRegister),
        ("watch-lists.yaml", WatchLists),
    ],
)
def test_every_shipped_data_file_loads(file: str, model: type[BaseModel]) -> None:
    loaded = load_rules(DATA / file, model)
    assert isinstance(loaded, model)
    assert getattr(loaded, "version", "")


def test_every_data_file_shipped_is_tested() -> None:
    assert {path.name for path in DATA.glob("*.yaml")} == {
        "risk-profile.yaml",
        "tariff.yaml",
        "exchange-rates.yaml",
        "trader-register.yaml",
        "watch-lists.yaml",
    }


class TestValidity:
    def test_end_before_start_is_refused_naming_both_days(self) -> None:
        with pytest.raises(ValidationError, match="valid_to 2026-10-31 is before valid_from 2026-11-01"):
            Validity(valid_from=date(2026, 11, 1), valid_to=date(2026, 10, 31))

    def test_one_day_validity_applies_on_that_day_only(self) -> None:
        day = Validity(valid_from=ON, valid_to=ON)
        assert [day.applies_on(d) for d in (date(2026, 11, 19), ON, date(2026, 11, 21))] == [False, True, False]

    def test_no_end_applies_forever_after(self) -> None:
        assert Validity(valid_from=ON).applies_on(date(2099, 12, 31))

    def test_reference_data_needs_a_version(self) -> None:
        with pytest.raises(ValidationError, match="version"):
            ReferenceData(version="", effective_from=ON)


class TestTraderRegister:
    def test_aeo_certificate_valid_on_the_day(self, register: TraderRegister) -> None:
        certificate = register.aeo(AEOF_TRADER, ON)
        assert certificate is not None
        assert (certificate.programme, certificate.reference) == (AeoProgramme.AEOF, "GBAEOF987654")

    def test_aeo_certificate_not_yet_valid(self, register: TraderRegister) -> None:
        assert register.aeo(AEOF_TRADER, date(2023, 12, 31)) is None

    def test_expired_aeo_certificate_does_not_count(self) -> None:
        register = TraderRegister.model_validate(
            {
                "version": "test",
                "effective_from": "2026-01-01",
                "traders": [
                    {
                        "id": AEOF_TRADER,
                        "name": "Lapsed Ltd",
                        "aeo": {
                            "programme": "AEOC",
                            "reference": "GBAEOC1",
                            "valid_from": "2020-01-01",
                            "valid_to": "2026-06-30",
                        },
                    }
                ],
            }
        )
        assert register.aeo(AEOF_TRADER, date(2026, 6, 30)) is not None
        assert register.aeo(AEOF_TRADER, date(2026, 7, 1)) is None

    @pytest.mark.parametrize("trader", ["GB123456789000", "GB000000000001", None], ids=["no-aeo", "unknown", "none"])
    def test_trader_without_a_certificate_has_none(self, register: TraderRegister, trader: str | None) -> None:
        assert register.aeo(trader, ON) is None

    def test_partner_certification_by_partner_id(self, register: TraderRegister) -> None:
        entry = register.partner_certification("US123456789", ON)
        assert entry is not None
        assert (entry.administration, entry.programme) == ("US", "C-TPAT")

    def test_partner_certification_applies_from_its_date(self, register: TraderRegister) -> None:
        assert register.partner_certification("CA987654321", date(2024, 1, 1)) is not None
        assert register.partner_certification("CA987654321", date(2023, 12, 31)) is None

    @pytest.mark.parametrize("partner", ["US000000000", "GB987654321000", None])
    def test_unlisted_partner_is_not_certified(self, register: TraderRegister, partner: str | None) -> None:
        assert register.partner_certification(partner, ON) is None


class TestWatchLists:
    def test_names_are_the_list_names(self, watch_lists: WatchLists) -> None:
        assert watch_lists.names == {"sanctions-screening", "undervaluation"}

    def test_listed_by_trader_id(self, watch_lists: WatchLists) -> None:
        assert watch_lists.listing({"GB555555555000"}, set()) == {"sanctions-screening"}

    @pytest.mark.parametrize(
        "name", ["Oceanic Shell Exports", "  oceanic   SHELL\texports ", "BLOCKED TRADING COMPANY"]
    )
    def test_listed_by_name_ignoring_case_and_extra_spaces(self, watch_lists: WatchLists, name: str) -> None:
        assert watch_lists.listing(set(), {name}) == {"sanctions-screening"}

    def test_every_list_a_party_is_on(self, watch_lists: WatchLists) -> None:
        assert watch_lists.listing({"GB444444444000"}, {"Blocked Trading Company"}) == {
            "sanctions-screening",
            "undervaluation",
        }

    def test_unlisted_parties_are_on_no_list(self, watch_lists: WatchLists) -> None:
        assert watch_lists.listing({"GB123456789000"}, {"Oceanic Shell"}) == frozenset()

    def test_list_names_are_lower_case_slugs(self) -> None:
        with pytest.raises(ValidationError, match=r"lists\.0\.name"):
            WatchLists.model_validate(
                {"version": "test", "effective_from": "2026-01-01", "lists": [{"name": "Sanctions", "reason": "x"}]}
            )


class TestRemembered:
    def test_keeps_answers_up_to_its_bound_then_starts_again(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(reference, "REMEMBERED_ANSWERS", 3)
        answers: Remembered[str, int] = Remembered()
        assert [answers.keep(key, n) for n, key in enumerate("abc")] == [0, 1, 2]
        assert answers == {"a": 0, "b": 1, "c": 2}
        assert answers.keep("d", 3) == 3
        assert answers == {"d": 3}


class TestExchangeRates:
    def test_last_day_of_a_period_uses_its_rate(self, rates: ExchangeRates) -> None:
        # 1152.00 EUR / 1.1520 (October) = 1000.00; the same on 1 November / 1.1450 = 1006.11.
        assert rates.to_national(Decimal("1152.00"), "EUR", date(2026, 10, 1)) == Decimal("1000.00")
        assert rates.to_national(Decimal("1152.00"), "EUR", date(2026, 10, 31)) == Decimal("1000.00")
        assert rates.to_national(Decimal("1152.00"), "EUR", date(2026, 11, 1)) == Decimal("1006.11")

    def test_a_rate_asked_again_is_the_days_own(self, rates: ExchangeRates) -> None:
        days = [date(2026, 10, 31), date(2026, 11, 1), date(2026, 9, 30)] * 2  # the second time, remembered
        converted: list[Decimal | None] = []
        for day in days:
            try:
                converted.append(rates.to_national(Decimal("1152.00"), "EUR", day))
            except MissingExchangeRate:
                converted.append(None)
        assert converted == [Decimal("1000.00"), Decimal("1006.11"), None] * 2

    def test_a_copy_with_other_periods_converts_at_their_rates(self, rates: ExchangeRates) -> None:
        day = date(2026, 11, 1)
        assert rates.to_national(Decimal("1152.00"), "EUR", day) == Decimal("1006.11")
        periods = (RatePeriod(valid_from=date(2026, 1, 1), rates={"EUR": Decimal("1.152")}),)
        for copied in (
            rates.model_copy(update={"periods": periods}),
            rates.model_copy(update={"periods": periods}, deep=True),
        ):
            assert copied.to_national(Decimal("1152.00"), "EUR", day) == Decimal("1000.00")
        assert rates.to_national(Decimal("1152.00"), "EUR", day) == Decimal("1006.11")

    def test_open_ended_last_period_applies_until_replaced(self, rates: ExchangeRates) -> None:
        assert rates.to_national(Decimal("1145.00"), "EUR", date(2030, 1, 1)) == Decimal("1000.00")

    def test_before_the_first_period_there_is_no_rate(self, rates: ExchangeRates) -> None:
        with pytest.raises(MissingExchangeRate, match="no exchange rate for EUR applies on 2026-09-30"):
            rates.to_national(Decimal(1), "EUR", date(2026, 9, 30))

    @pytest.mark.parametrize("rate", ["0", "-1.1450"])
    def test_rates_must_be_positive(self, rate: str) -> None:
        with pytest.raises(ValidationError, match=re.escape(f"rate for EUR must be positive, not {rate}")):
            RatePeriod(valid_from=ON, rates={"EUR": Decimal(rate)})

    def test_at_least_one_period(self) -> None:
        with pytest.raises(ValidationError, match="periods"):
            ExchangeRates(version="test", effective_from=ON, currency="GBP", periods=())


class TestExchangeRatePeriods:
    def test_two_periods_giving_a_rate_for_one_currency_on_the_same_day_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="both give a rate for EUR"):
            ExchangeRates(
                version="r",
                effective_from=date(2026, 1, 1),
                currency="GBP",
                periods=(
                    RatePeriod(valid_from=date(2026, 1, 1), valid_to=date(2026, 1, 31), rates={"EUR": Decimal(1)}),
                    RatePeriod(valid_from=date(2026, 1, 31), rates={"EUR": Decimal(2), "USD": Decimal(1)}),
                ),
            )

    def test_overlapping_periods_for_different_currencies_are_allowed(self) -> None:
        rates = ExchangeRates(
            version="r",
            effective_from=date(2026, 1, 1),
            currency="GBP",
            periods=(
                RatePeriod(valid_from=date(2026, 1, 1), rates={"EUR": Decimal(2)}),
                RatePeriod(valid_from=date(2026, 1, 15), rates={"USD": Decimal(4)}),
            ),
        )
        assert rates.to_national(Decimal(8), "USD", date(2026, 2, 1)) == Decimal("2.00")
