"""Duties and VAT with the shipped tariff and exchange rates, computed by hand, and what secures them for release."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.contract.declaration import Amount, Declaration, GoodsItem
from services.contract.rules_file import RulesFileError, load_rules
from services.customs.domain.duties import DutyAssessment, Security, assess_duties, security
from services.customs.domain.exchange_rates import ExchangeRates, MissingExchangeRate, RatePeriod
from services.customs.domain.tariff import Measure, Tariff, UnknownCommodityCode, VatRates
from services.customs.settings import DATA
from services.gateway.adapters.wco_declaration_xml import parse_declaration_xml
from tests.unit.builders import declaration, goods_item
from tests.unit.test_wco_declaration_xml import sample

ON = date(2026, 11, 20)
ROSES_TRADER = "GB123456789000"
SOMEONE_ELSE = "GB999999999000"
COURGETTES = "0709931000"
AVOCADOS = "0804400010"
CUT_FLOWERS = "0603110000"


@pytest.fixture(scope="module")
def tariff() -> Tariff:
    return load_rules(DATA / "tariff.yaml", Tariff)


@pytest.fixture(scope="module")
def rates() -> ExchangeRates:
    return load_rules(DATA / "exchange-rates.yaml", ExchangeRates)


def priced(item: GoodsItem, value: str, currency: str) -> GoodsItem:
    """The item with its price in another currency (the builders price every item in euros)."""
    return item.model_copy(update={"value": Amount(value=Decimal(value), currency=currency)})


def gbp_item(sequence: int = 1, *, commodity_code: str, value: str, **fields: Any) -> GoodsItem:
    return priced(goods_item(sequence, commodity_code=commodity_code, **fields), value, "GBP")


def assessed(tariff: Tariff, rates: ExchangeRates, *items: GoodsItem, **overrides: Any) -> DutyAssessment:
    return assess_duties(declaration(*items, **overrides), tariff, rates, ON)


@dataclass(frozen=True)
class SampleDuties:
    file: str
    measure: str
    customs_value: str
    duty_rate: str
    preference: str | None
    duty: str
    vat_rate: str
    vat: str
    security: Security


SAMPLE_DUTIES = [
    # Outdoor plants 06029050 from NL, 1000 GBP, no national additional code: 06029050 is free, VAT standard rate.
    # duty 1000.00 x 0% = 0.00; VAT (1000.00 + 0.00) x 20% = 200.00. The declarant holds a deferment (DPO).
    SampleDuties("TT_IM075a.xml", "06029050", "1000.00", "0", None, "0.00", "20", "200.00", Security.DEFERMENT),
    # Avocados 08044000 from NZ, 2000 GBP, no preference claimed (regime 100), VATZ.
    # duty 2000.00 x 4% = 80.00; VAT zero-rated by VATZ: 2080.00 x 0% = 0.00. The declarant holds a DPO.
    SampleDuties("TT_IM051a.xml", "08044000", "2000.00", "4", None, "80.00", "0", "0.00", Security.DEFERMENT),
    # Courgettes 07099310 from CL, 6500 GBP, preference claimed (regime 300, preferential origin CL), VATZ.
    # duty 6500.00 x 0% (CL preference instead of 12% third-country: 780.00 saved) = 0.00; VAT 0.00.
    # Nothing is due, so nothing needs securing.
    SampleDuties("Step1_TT_IM030a.xml", "07099310", "6500.00", "0", "CL", "0.00", "0", "0.00", Security.NOTHING_DUE),
]


class TestHmrcSamples:
    @pytest.mark.parametrize("expected", SAMPLE_DUTIES, ids=[case.file for case in SAMPLE_DUTIES])
    def test_duty_and_vat_of_each_sample_are_as_computed_by_hand(
        self, tariff: Tariff, rates: ExchangeRates, expected: SampleDuties
    ) -> None:
        parsed = parse_declaration_xml(sample(expected.file))
        duties = assess_duties(parsed, tariff, rates, ON)
        [item] = duties.items
        assert item.measure_code == expected.measure
        assert item.customs_value == Decimal(expected.customs_value)
        assert (item.duty_rate, item.preference, item.preference_refused) == (
            Decimal(expected.duty_rate),
            expected.preference,
            False,
        )
        assert (item.duty, item.vat_rate, item.vat) == (
            Decimal(expected.duty),
            Decimal(expected.vat_rate),
            Decimal(expected.vat),
        )
        assert duties.total == Decimal(expected.duty) + Decimal(expected.vat)
        assert security(parsed, duties) is expected.security

    def test_courgettes_without_the_preference_would_owe_the_third_country_duty(
        self, tariff: Tariff, rates: ExchangeRates
    ) -> None:
        parsed = parse_declaration_xml(sample("Step1_TT_IM030a.xml"))
        [item] = parsed.goods_items
        unclaimed = item.model_copy(update={"preferential_origin": None, "duties": []})
        duties = assess_duties(parsed.model_copy(update={"goods_items": [unclaimed]}), tariff, rates, ON)
        # 6500.00 x 12% = 780.00, the amount the preference saves; VAT still zero-rated by VATZ.
        assert (duties.duty, duties.vat) == (Decimal("780.00"), Decimal("0.00"))
        assert duties.items[0].preference is None

    def test_deferment_wins_over_the_comprehensive_guarantee_when_both_are_held(
        self, tariff: Tariff, rates: ExchangeRates
    ) -> None:
        # The plants declarant holds DPO and CGU and cites guarantee GBCGU3827; the deferment account pays.
        parsed = parse_declaration_xml(sample("TT_IM075a.xml"))
        assert {a.category_code for a in parsed.authorisations} == {"DPO", "CGU"}
        assert security(parsed, assess_duties(parsed, tariff, rates, ON)) is Security.DEFERMENT


class TestCurrencyConversion:
    def test_roses_in_euros_are_valued_at_the_rate_of_the_day(self, tariff: Tariff, rates: ExchangeRates) -> None:
        # 8400.00 EUR / 1.1450 = 7336.2445... -> 7336.24 GBP; cut flowers 0603 are free;
        # VAT 7336.24 x 20% = 1467.248 -> 1467.24 (rounded down).
        [item] = assessed(tariff, rates, goods_item(value="8400.00")).items
        assert (item.customs_value, item.duty, item.vat) == (Decimal("7336.24"), Decimal("0.00"), Decimal("1467.24"))

    def test_conversion_rounds_half_up_to_the_penny(self, tariff: Tariff, rates: ExchangeRates) -> None:
        # October's rate: 8400.00 EUR / 1.1520 = 7291.666... -> 7291.67 (rounding down would give 7291.66).
        duties = assess_duties(declaration(goods_item(value="8400.00")), tariff, rates, date(2026, 10, 31))
        assert duties.items[0].customs_value == Decimal("7291.67")

    def test_an_exact_half_penny_rounds_up_not_to_even(self) -> None:
        rates = ExchangeRates(
            version="test",
            effective_from=ON,
            currency="GBP",
            periods=(RatePeriod(valid_from=ON, rates={"EUR": Decimal(2)}),),
        )
        # 0.05 / 2 = 0.025 -> 0.03 (round half even would give 0.02); 1.01 / 2 = 0.505 -> 0.51.
        assert rates.to_national(Decimal("0.05"), "EUR", ON) == Decimal("0.03")
        assert rates.to_national(Decimal("1.01"), "EUR", ON) == Decimal("0.51")

    def test_national_currency_needs_no_rate(self, rates: ExchangeRates) -> None:
        assert rates.to_national(Decimal("1000"), "GBP", date(1999, 1, 1)) == Decimal("1000.00")

    def test_day_without_a_rate_raises_naming_currency_and_day(self, tariff: Tariff, rates: ExchangeRates) -> None:
        september = date(2026, 9, 30)
        with pytest.raises(MissingExchangeRate, match="no exchange rate for EUR applies on 2026-09-30") as raised:
            assess_duties(declaration(), tariff, rates, september)
        assert (raised.value.currency, raised.value.on) == ("EUR", september)

    def test_currency_without_a_published_rate_raises(self, tariff: Tariff, rates: ExchangeRates) -> None:
        with pytest.raises(MissingExchangeRate, match="no exchange rate for AUD"):
            assessed(tariff, rates, priced(goods_item(), "1000.00", "AUD"))


class TestRounding:
    def test_duty_and_vat_are_rounded_down_to_the_penny(self, tariff: Tariff, rates: ExchangeRates) -> None:
        # Courgettes from the US (no preference): duty 999.99 x 12% = 119.9988 -> 119.99 (half up: 120.00);
        # VAT (999.99 + 119.99) x 20% = 1119.98 x 20% = 223.996 -> 223.99 (half up: 224.00).
        item = gbp_item(commodity_code=COURGETTES, value="999.99", origin_country="US")
        duties = assessed(tariff, rates, item)
        assert (duties.duty, duties.vat, duties.total) == (Decimal("119.99"), Decimal("223.99"), Decimal("343.98"))

    def test_each_item_is_rounded_before_the_totals_are_summed(self, tariff: Tariff, rates: ExchangeRates) -> None:
        # Two items of 10.03 GBP: VAT 2.006 -> 2.00 each, 4.00 in all; VAT on the sum, 4.012, would give 4.01.
        items = [gbp_item(sequence, commodity_code=CUT_FLOWERS, value="10.03") for sequence in (1, 2)]
        duties = assessed(tariff, rates, *items)
        assert [item.vat for item in duties.items] == [Decimal("2.00"), Decimal("2.00")]
        assert duties.vat == Decimal("4.00")

    def test_multi_item_totals_are_the_sums_of_the_item_amounts(self, tariff: Tariff, rates: ExchangeRates) -> None:
        items = [
            # 1145.00 EUR / 1.1450 = 1000.00; flowers free; VAT 1000.00 x 20% = 200.00.
            goods_item(1, commodity_code=CUT_FLOWERS, value="1145.00"),
            # 2290.00 EUR / 1.1450 = 2000.00; avocados 4% = 80.00; VAT (2000.00 + 80.00) x 20% = 416.00.
            goods_item(2, commodity_code=AVOCADOS, origin_country="NZ", value="2290.00"),
            # 1000.00 EUR / 1.1450 = 873.3624... -> 873.36; courgettes from the US 12% = 104.8032 -> 104.80;
            # VAT (873.36 + 104.80) x 20% = 195.632 -> 195.63.
            goods_item(3, commodity_code=COURGETTES, origin_country="US", value="1000.00"),
        ]
        duties = assessed(tariff, rates, *items)
        assert [(i.goods_item, i.customs_value, i.duty, i.vat) for i in duties.items] == [
            (1, Decimal("1000.00"), Decimal("0.00"), Decimal("200.00")),
            (2, Decimal("2000.00"), Decimal("80.00"), Decimal("416.00")),
            (3, Decimal("873.36"), Decimal("104.80"), Decimal("195.63")),
        ]
        # duty 0.00 + 80.00 + 104.80 = 184.80; VAT 200.00 + 416.00 + 195.63 = 811.63; total 996.43.
        assert (duties.duty, duties.vat, duties.total) == (Decimal("184.80"), Decimal("811.63"), Decimal("996.43"))
        details = duties.as_details()
        assert (details["currency"], details["duty"], details["vat"], details["total"]) == (
            "GBP",
            "184.80",
            "811.63",
            "996.43",
        )


class TestPreferences:
    def test_preference_refused_for_an_origin_the_tariff_grants_none(
        self, tariff: Tariff, rates: ExchangeRates
    ) -> None:
        # Avocados grant preferences to PE, CL and KE only: NZ pays 2000.00 x 4% = 80.00.
        item = goods_item(commodity_code=AVOCADOS, origin_country="NZ", preferential_origin="NZ", value="2290.00")
        [duties] = assessed(tariff, rates, item).items
        assert (duties.preference, duties.preference_refused) == (None, True)
        assert (duties.duty_rate, duties.duty) == (Decimal(4), Decimal("80.00"))

    def test_preference_of_a_shorter_code_does_not_reach_a_longer_codes_measure(
        self, tariff: Tariff, rates: ExchangeRates
    ) -> None:
        # Chapter 07 grants KE a 0% preference, but the courgettes measure 07099310 (the longest) grants none.
        item = gbp_item(commodity_code=COURGETTES, value="1000.00", origin_country="KE", preferential_origin="KE")
        [duties] = assessed(tariff, rates, item).items
        assert (duties.measure_code, duties.preference_refused, duties.duty) == ("07099310", True, Decimal("120.00"))

    def test_regime_300_claims_the_preference_of_the_origin_country(self, tariff: Tariff, rates: ExchangeRates) -> None:
        item = gbp_item(
            commodity_code=COURGETTES, value="1000.00", origin_country="MA", duties=[{"regime_code": "300"}]
        )
        [duties] = assessed(tariff, rates, item).items
        assert (duties.preference, duties.duty_rate, duties.duty) == ("MA", Decimal(0), Decimal("0.00"))

    def test_regime_100_claims_no_preference(self, tariff: Tariff, rates: ExchangeRates) -> None:
        item = gbp_item(
            commodity_code=COURGETTES, value="1000.00", origin_country="MA", duties=[{"regime_code": "100"}]
        )
        [duties] = assessed(tariff, rates, item).items
        assert (duties.preference, duties.preference_refused, duties.duty) == (None, False, Decimal("120.00"))


class TestScope:
    @pytest.mark.parametrize("kind", ["EX", "CO"], ids=["export", "transit"])
    def test_exports_and_transit_owe_nothing(self, tariff: Tariff, rates: ExchangeRates, kind: str) -> None:
        outgoing = declaration(goods_item(commodity_code=COURGETTES, origin_country="US"), type=kind)
        duties = assess_duties(outgoing, tariff, rates, ON)
        assert (duties.items, duties.total) == ((), Decimal("0.00"))
        assert security(outgoing, duties) is Security.NOTHING_DUE

    def test_unknown_commodity_code_raises_naming_the_goods_item(self, tariff: Tariff, rates: ExchangeRates) -> None:
        crude_oil = goods_item(2, commodity_code="27090010")
        with pytest.raises(UnknownCommodityCode) as raised:
            assessed(tariff, rates, goods_item(1), crude_oil)
        assert (raised.value.goods_item, raised.value.commodity_code) == (2, "27090010")
        assert str(raised.value) == "goods item 2: commodity code 27090010 is not in the tariff in force on 2026-11-20"


def measure(code: str, duty: str, valid_from: date = date(2021, 1, 1), valid_to: date | None = None) -> Measure:
    return Measure(
        code=code,
        description=f"goods under {code}",
        third_country_duty=Decimal(duty),
        valid_from=valid_from,
        valid_to=valid_to,
    )


def tariff_of(*measures: Measure) -> Tariff:
    return Tariff(
        version="test",
        effective_from=date(2021, 1, 1),
        currency="GBP",
        vat=VatRates(standard=Decimal(20)),
        measures=measures,
    )


class TestMeasures:
    def test_longest_matching_code_wins(self) -> None:
        tariff = tariff_of(measure("06", "5"), measure("060311", "1"), measure("0603", "2"))
        found = {code: tariff.measure(code, ON) for code in ("0603110000", "0603190000", "0601100000", "0701100000")}
        assert {code: m.code if m else None for code, m in found.items()} == {
            "0603110000": "060311",
            "0603190000": "0603",
            "0601100000": "06",
            "0701100000": None,
        }

    def test_shipped_courgettes_measure_beats_its_chapter(self, tariff: Tariff) -> None:
        courgettes, tomatoes = tariff.measure(COURGETTES, ON), tariff.measure("0702000000", ON)
        assert courgettes is not None
        assert tomatoes is not None
        assert (courgettes.code, courgettes.third_country_duty) == ("07099310", Decimal(12))
        assert (tomatoes.code, tomatoes.third_country_duty) == ("07", Decimal(8))

    def test_measure_applies_from_its_first_to_its_last_day(self) -> None:
        tariff = tariff_of(
            measure("0603", "8", date(2021, 1, 1), date(2026, 10, 31)), measure("0603", "2", date(2026, 11, 1))
        )
        rates = {day: tariff.measure(CUT_FLOWERS, day) for day in (date(2026, 10, 31), date(2026, 11, 1))}
        assert {day: m.third_country_duty for day, m in rates.items() if m} == {
            date(2026, 10, 31): Decimal(8),
            date(2026, 11, 1): Decimal(2),
        }
        assert tariff.measure(CUT_FLOWERS, date(2020, 12, 31)) is None

    def test_a_code_asked_again_on_each_day_gets_that_days_measure(self) -> None:
        tariff = tariff_of(
            measure("0603", "8", date(2021, 1, 1), date(2026, 10, 31)), measure("0603", "2", date(2026, 11, 1))
        )
        days = [date(2026, 10, 31), date(2026, 11, 1), date(2020, 12, 31)] * 2  # the second time, remembered
        found = [tariff.measure(CUT_FLOWERS, day) for day in days]
        duties = [m.third_country_duty if m else None for m in found]
        assert duties == [Decimal(8), Decimal(2), None] * 2

    def test_a_copy_with_other_measures_looks_them_up_not_the_originals(self) -> None:
        tariff = tariff_of(measure("0603", "8"))
        assert (found := tariff.measure(CUT_FLOWERS, ON)) is not None
        assert found.third_country_duty == Decimal(8)
        for copied in (
            tariff.model_copy(update={"measures": (measure("0603", "2"),)}),
            tariff.model_copy(update={"measures": (measure("0603", "2"),)}, deep=True),
        ):
            assert (found := copied.measure(CUT_FLOWERS, ON)) is not None
            assert found.third_country_duty == Decimal(2)
        assert (found := tariff.measure(CUT_FLOWERS, ON)) is not None
        assert found.third_country_duty == Decimal(8)

    def test_expired_longer_measure_falls_back_to_the_shorter_one(self) -> None:
        tariff = tariff_of(measure("06", "5"), measure("0603", "2", valid_to=date(2025, 12, 31)))
        found = tariff.measure(CUT_FLOWERS, ON)
        assert found is not None
        assert found.code == "06"

    def test_code_not_in_force_on_the_day_raises(self, rates: ExchangeRates) -> None:
        tariff = tariff_of(measure("0603", "2", valid_to=date(2025, 12, 31)))
        with pytest.raises(UnknownCommodityCode, match="not in the tariff in force on 2026-11-20"):
            assess_duties(declaration(goods_item(value="1145.00")), tariff, rates, ON)

    def test_overlapping_measures_of_one_code_are_rejected_at_load(self, tmp_path: Path) -> None:
        path = tmp_path / "tariff.yaml"
        path.write_text(
            'version: "test"\neffective_from: 2026-01-01\ncurrency: GBP\nvat: {standard: "20"}\nmeasures:\n'
            '  - {code: "0603", description: "Cut flowers", third_country_duty: "8", valid_from: 2021-01-01,'
            " valid_to: 2026-11-01}\n"
            '  - {code: "0603", description: "Cut flowers", third_country_duty: "2", valid_from: 2026-11-01}\n',
            encoding="utf-8",
        )
        with pytest.raises(RulesFileError, match="two measures for code 0603 apply on the same day") as raised:
            load_rules(path, Tariff)
        assert str(raised.value).startswith(str(path))

    def test_consecutive_measures_of_one_code_are_accepted(self) -> None:
        tariff = tariff_of(
            measure("0603", "8", date(2021, 1, 1), date(2026, 10, 31)), measure("0603", "2", date(2026, 11, 1))
        )
        assert len(tariff.measures) == 2


class TestSecurity:
    """On the builders' roses, whose declarant holds a DPO: 7336.24 GBP of free flowers, 1467.24 GBP VAT due."""

    DUE = Decimal("1467.24")

    def due(self, tariff: Tariff, rates: ExchangeRates, declared: Declaration) -> DutyAssessment:
        duties = assess_duties(declared, tariff, rates, ON)
        assert duties.total == self.DUE
        return duties

    def test_nothing_due_needs_no_security(self, tariff: Tariff, rates: ExchangeRates) -> None:
        declared = declaration(
            goods_items=[gbp_item(commodity_code=CUT_FLOWERS, value="500.00", national_additional_codes=["VATZ"])],
            authorisations=[],
        )
        assert security(declared, assess_duties(declared, tariff, rates, ON)) is Security.NOTHING_DUE

    @pytest.mark.parametrize("paid", ["1467.24", "1500.00"])
    def test_paid_in_full_secures_without_any_authorisation(
        self, tariff: Tariff, rates: ExchangeRates, paid: str
    ) -> None:
        declared = declaration(authorisations=[])
        assert security(declared, self.due(tariff, rates, declared), Decimal(paid)) is Security.PAID

    def test_part_paid_is_not_secured(self, tariff: Tariff, rates: ExchangeRates) -> None:
        declared = declaration(authorisations=[])
        assert security(declared, self.due(tariff, rates, declared), Decimal("1467.23")) is None

    def test_part_paid_rest_deferred(self, tariff: Tariff, rates: ExchangeRates) -> None:
        declared = declaration()  # the example's declarant holds a DPO
        assert security(declared, self.due(tariff, rates, declared), Decimal("1000.00")) is Security.DEFERMENT

    def test_deferment_held_by_the_importer_secures_an_agents_declaration(
        self, tariff: Tariff, rates: ExchangeRates
    ) -> None:
        declared = declaration(
            declarant={"id": SOMEONE_ELSE}, authorisations=[{"holder_id": ROSES_TRADER, "category_code": "DPO"}]
        )
        assert security(declared, self.due(tariff, rates, declared)) is Security.DEFERMENT

    @pytest.mark.parametrize("category", ["DPO", "CGU"])
    def test_authorisation_held_by_someone_else_does_not_count(
        self, tariff: Tariff, rates: ExchangeRates, category: str
    ) -> None:
        declared = declaration(authorisations=[{"holder_id": SOMEONE_ELSE, "category_code": category}])
        assert security(declared, self.due(tariff, rates, declared)) is None

    def test_comprehensive_guarantee_authorisation_secures(self, tariff: Tariff, rates: ExchangeRates) -> None:
        declared = declaration(authorisations=[{"holder_id": ROSES_TRADER, "category_code": "CGU"}])
        assert security(declared, self.due(tariff, rates, declared)) is Security.GUARANTEE

    def test_guarantee_reference_on_the_declaration_secures(self, tariff: Tariff, rates: ExchangeRates) -> None:
        declared = declaration(authorisations=[], guarantees=[{"type_code": "1", "reference": "GBCGU3827"}])
        assert security(declared, self.due(tariff, rates, declared)) is Security.GUARANTEE

    def test_guarantee_waiver_secures_nothing(self, tariff: Tariff, rates: ExchangeRates) -> None:
        # Type 0 is a guarantee waiver, as in the avocado and courgette samples' "Guaranteenotrequired".
        declared = declaration(authorisations=[], guarantees=[{"type_code": "0", "reference": "Guaranteenotrequired"}])
        assert security(declared, self.due(tariff, rates, declared)) is None

    def test_no_payment_and_no_authorisation_is_not_secured(self, tariff: Tariff, rates: ExchangeRates) -> None:
        declared = declaration(authorisations=[])
        assert security(declared, self.due(tariff, rates, declared)) is None
