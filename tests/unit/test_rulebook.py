"""The customs decision from the shipped reference data, and reloading the rulebook from its files."""

import shutil
import stat
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.contract.events import Outcome
from services.contract.keyed_draw import KeyedDraw, MissingDrawKey
from services.customs.adapters.rulebook_files import (
    RulebookHolder,
    load_rulebook,
    selectivity_key,
)
from services.customs.domain.lanes import Lane
from services.customs.domain.risk import RandomSelection, RiskProfile
from services.customs.domain.rulebook import CustomsDecision, Rulebook, RulebookError
from services.customs.domain.watch_lists import WatchLists
from services.customs.settings import DATA, CustomsSettings
from services.gateway.adapters.wco_declaration_xml import parse_declaration_xml
from tests.unit.builders import declaration, goods_item
from tests.unit.test_wco_declaration_xml import sample

ON = date(2026, 11, 20)
DECLARATION_ID = "01JD0000000000000000000001"
DRAW = KeyedDraw(b"test-selectivity-key-0123456789")
SHIPPED_VERSIONS = {
    "risk_profile": "2026.11-2",
    "tariff": "2026.11-tariff-1",
    "exchange_rates": "2026.11-rates-1",
    "trader_register": "2026.11-traders-1",
    "watch_lists": "2026.11-watch-1",
}


def without_random_selection(profile: RiskProfile) -> RiskProfile:
    """The profile with nothing chosen at random, so that a lane is the rules' alone."""
    return profile.model_copy(update={"random_selection": RandomSelection()})


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    shipped = load_rulebook(CustomsSettings(selectivity_key="x" * 32), DRAW)
    return shipped.with_profile(without_random_selection(shipped.profile))


def decide(rulebook: Rulebook, *items: Any, on: date = ON, paid: str = "0.00", **overrides: Any) -> CustomsDecision:
    return rulebook.decide(DECLARATION_ID, declaration(*items, **overrides), on=on, paid=Decimal(paid))


def codes(decision: CustomsDecision) -> list[str]:
    return [reason.code for reason in decision.reasons]


@dataclass(frozen=True)
class SampleDecision:
    file: str
    duty: str
    vat: str
    security: str
    benefits: list[str]


SAMPLE_DECISIONS = [
    # Plants: 0% duty, VAT 20% of 1000.00 = 200.00, deferred (DPO); the declarant is no AEO.
    SampleDecision("TT_IM075a.xml", "0.00", "200.00", "deferment", []),
    # Avocados: 4% of 2000.00 = 80.00 duty, VATZ; deferred; the declarant XI553202734852 is AEOC.
    SampleDecision("TT_IM051a.xml", "80.00", "0.00", "deferment", ["fewer_random_checks", "priority"]),
    # Courgettes: CL preference 0%, VATZ: nothing due; the same AEOC declarant.
    SampleDecision("Step1_TT_IM030a.xml", "0.00", "0.00", "nothing_due", ["fewer_random_checks", "priority"]),
]


class TestShippedData:
    @pytest.mark.parametrize("expected", SAMPLE_DECISIONS, ids=[case.file for case in SAMPLE_DECISIONS])
    def test_hmrc_samples_are_released_green_with_their_duties_secured(
        self, rulebook: Rulebook, expected: SampleDecision
    ) -> None:
        parsed = parse_declaration_xml(sample(expected.file))
        decision = rulebook.decide(DECLARATION_ID, parsed, on=ON)
        assert (decision.outcome, decision.lane, decision.reasons) == (Outcome.RELEASED, Lane.GREEN, [])
        details = decision.details
        assert details["versions"] == SHIPPED_VERSIONS
        assert (details["lane"], details["rules_hit"], details["benefits"]) == ("green", [], expected.benefits)
        duties = details["duties"]
        total = Decimal(expected.duty) + Decimal(expected.vat)
        assert (duties["currency"], duties["duty"], duties["vat"], duties["total"]) == (
            "GBP",
            expected.duty,
            expected.vat,
            str(total),
        )
        assert (details["paid"], details["security"]) == ("0.00", expected.security)

    def test_builders_roses_are_released_with_vat_deferred(self, rulebook: Rulebook) -> None:
        # 8400.00 EUR / 1.1450 = 7336.24 GBP; flowers free; VAT 20% = 1467.248 -> 1467.24; the declarant's DPO.
        decision = decide(rulebook)
        assert (decision.outcome, decision.lane, decision.reasons) == (Outcome.RELEASED, Lane.GREEN, [])
        assert decision.details["versions"] == SHIPPED_VERSIONS
        [item] = decision.details["duties"]["items"]
        assert (item["measure"], item["customs_value"], item["vat"]) == ("0603", "7336.24", "1467.24")
        assert (decision.details["duties"]["total"], decision.details["security"]) == ("1467.24", "deferment")
        assert (decision.details["priority"], decision.details["benefits"]) == (False, [])


class TestAssessmentFailures:
    def test_unknown_commodity_code_refuses_naming_the_goods_item(self, rulebook: Rulebook) -> None:
        decision = decide(rulebook, goods_item(1), goods_item(2, commodity_code="27090010"))
        assert (decision.outcome, decision.lane, codes(decision)) == (
            Outcome.REFUSED,
            None,
            ["UNKNOWN_COMMODITY_CODE"],
        )
        assert decision.reasons[0].text.startswith("goods item 2: commodity code 27090010")
        assert decision.details == {"versions": SHIPPED_VERSIONS, "goods_item": 2}

    def test_missing_exchange_rate_holds_until_the_rate_is_published(self, rulebook: Rulebook) -> None:
        decision = decide(rulebook, on=date(2026, 9, 30))
        assert (decision.outcome, decision.lane, codes(decision)) == (Outcome.HELD, None, ["EXCHANGE_RATE_MISSING"])
        assert "no exchange rate for EUR applies on 2026-09-30" in decision.reasons[0].text
        assert decision.details == {"versions": SHIPPED_VERSIONS}


class TestSecurity:
    def test_unsecured_duty_holds_a_green_declaration(self, rulebook: Rulebook) -> None:
        decision = decide(rulebook, authorisations=[])
        assert (decision.outcome, decision.lane, codes(decision)) == (Outcome.HELD, Lane.GREEN, ["DUTY_UNSECURED"])
        assert decision.reasons[0].text.startswith("1467.24 GBP due (duty 0.00, VAT 1467.24)")
        assert decision.details["security"] is None

    def test_paying_the_total_releases_it(self, rulebook: Rulebook) -> None:
        decision = decide(rulebook, authorisations=[], paid="1467.24")
        assert (decision.outcome, decision.lane, decision.reasons) == (Outcome.RELEASED, Lane.GREEN, [])
        assert (decision.details["paid"], decision.details["security"]) == ("1467.24", "paid")

    def test_paying_a_penny_less_still_holds(self, rulebook: Rulebook) -> None:
        assert codes(decide(rulebook, authorisations=[], paid="1467.23")) == ["DUTY_UNSECURED"]


class TestLanes:
    def test_party_on_the_sanctions_list_goes_red_and_is_held(self, rulebook: Rulebook) -> None:
        exporter = {"name": "oceanic  SHELL exports", "address": {"country_code": "NL"}}
        decision = decide(rulebook, exporter=exporter)
        assert (decision.outcome, decision.lane, codes(decision)) == (Outcome.HELD, Lane.RED, ["LANE_RED"])
        assert decision.reasons[0].text.startswith("R-WATCH-SANCTIONS (items 1): ")

    def test_rough_wood_goes_yellow_and_is_held(self, rulebook: Rulebook) -> None:
        decision = decide(rulebook, goods_item(commodity_code="4403110000"))
        assert (decision.outcome, decision.lane, codes(decision)) == (Outcome.HELD, Lane.YELLOW, ["LANE_YELLOW"])
        assert decision.details["rules_hit"] == ["R-TIMBER-DOCS"]

    def test_trader_selected_for_audit_goes_blue_and_is_released(self, rulebook: Rulebook) -> None:
        decision = decide(rulebook, importer={"id": "GB987654321000"})
        assert (decision.outcome, decision.lane, codes(decision)) == (Outcome.RELEASED, Lane.BLUE, ["LANE_BLUE"])

    def test_prohibited_origin_is_refused(self, rulebook: Rulebook) -> None:
        decision = decide(rulebook, goods_item(origin_country="KP"))
        assert (decision.outcome, codes(decision)) == (Outcome.REFUSED, ["GOODS_PROHIBITED"])
        assert decision.details["rules_hit"] == ["R-PROHIBITED-ORIGIN-KP"]

    def test_refused_preference_is_a_reason_on_a_released_declaration(self, rulebook: Rulebook) -> None:
        avocados = goods_item(commodity_code="0804400010", origin_country="NZ", preferential_origin="NZ")
        decision = decide(rulebook, avocados)
        assert (decision.outcome, codes(decision)) == (Outcome.RELEASED, ["PREFERENCE_REFUSED"])
        assert "third-country duty 4%" in decision.reasons[0].text


class TestDataSetsFitTogether:
    def test_profile_naming_a_missing_watch_list_is_refused(self, rulebook: Rulebook) -> None:
        empty = WatchLists(version="empty", effective_from=ON)
        with pytest.raises(RulebookError, match="watch lists that do not exist: sanctions-screening, undervaluation"):
            Rulebook(rulebook.profile, rulebook.tariff, rulebook.exchange_rates, rulebook.trader_register, empty, DRAW)

    def test_tariff_and_exchange_rates_in_different_currencies_are_refused(self, rulebook: Rulebook) -> None:
        in_euros = rulebook.exchange_rates.model_copy(update={"currency": "EUR"})
        with pytest.raises(RulebookError, match="tariff is in GBP but exchange rates are against EUR"):
            Rulebook(rulebook.profile, rulebook.tariff, in_euros, rulebook.trader_register, rulebook.watch_lists, DRAW)


def copied_data(tmp_path: Path, **settings: Any) -> CustomsSettings:
    """Settings reading a copy of the shipped data files, which a test may then edit."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    return CustomsSettings(
        risk_profile=data / "risk-profile.yaml",
        tariff=data / "tariff.yaml",
        exchange_rates=data / "exchange-rates.yaml",
        trader_register=data / "trader-register.yaml",
        watch_lists=data / "watch-lists.yaml",
        **{"selectivity_key": "x" * 32, **settings},
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


LAST_RULE = '    reason: "Unit value outside the reference band for its HS code and origin"\n'
NO_CONDITION_RULE = """\
  - id: R-EVERYTHING
    lane: red
    reason: "A rule without a condition would match every goods item"
"""


class TestReload:
    def test_new_profile_version_is_picked_up(self, tmp_path: Path) -> None:
        settings = copied_data(tmp_path)
        holder = RulebookHolder(settings)
        edit(settings.risk_profile, 'version: "2026.11-2"', 'version: "2026.11-3"')
        assert holder.reload()
        assert holder.current.versions == {**SHIPPED_VERSIONS, "risk_profile": "2026.11-3"}

    @pytest.mark.parametrize(
        ("file", "old", "new"),
        [
            pytest.param("risk-profile.yaml", "default_lane: green", "default_lane: [green", id="bad-yaml"),
            pytest.param("risk-profile.yaml", LAST_RULE, LAST_RULE + NO_CONDITION_RULE, id="no-condition"),
            pytest.param("tariff.yaml", 'VATZ: "0"', 'VATZ: "zero"', id="bad-rate"),
            pytest.param("watch-lists.yaml", "name: undervaluation", "name: under-valuation", id="missing-list"),
        ],
    )
    def test_invalid_files_are_refused_and_the_old_versions_stay(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, file: str, old: str, new: str
    ) -> None:
        settings = copied_data(tmp_path)
        holder = RulebookHolder(settings)
        before = holder.current
        path = settings.risk_profile.parent / file
        edit(settings.risk_profile, 'version: "2026.11-2"', 'version: "2026.11-3"')
        edit(path, old, new)
        assert not holder.reload()
        assert holder.current is before
        assert holder.current.versions == SHIPPED_VERSIONS
        assert "rulebook reload refused" in caplog.text

    def test_rule_without_a_condition_is_named_in_the_refusal(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = copied_data(tmp_path)
        holder = RulebookHolder(settings)
        edit(settings.risk_profile, LAST_RULE, LAST_RULE + NO_CONDITION_RULE)
        assert not holder.reload()
        assert "rule R-EVERYTHING states no condition" in caplog.text
        assert str(settings.risk_profile) in caplog.text


class TestSelectivityKey:
    def test_configured_key_is_used_and_no_file_written(self, tmp_path: Path) -> None:
        key_file = tmp_path / "customs.key"
        settings = CustomsSettings(selectivity_key="k" * 32, selectivity_key_file=key_file)
        assert selectivity_key(settings) == b"k" * 32
        assert not key_file.exists()

    def test_key_file_is_created_private_and_reused(self, tmp_path: Path) -> None:
        key_file = tmp_path / "var" / "customs.key"
        settings = CustomsSettings(selectivity_key=None, selectivity_key_file=key_file)
        first = selectivity_key(settings)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert len(first) == 64
        int(first, 16)  # hex of 32 random bytes
        assert selectivity_key(settings) == first
        assert key_file.read_bytes().strip() == first

    def test_tools_that_recompute_selections_never_invent_a_key(self, tmp_path: Path) -> None:
        key_file = tmp_path / "customs.key"
        settings = CustomsSettings(selectivity_key=None, selectivity_key_file=key_file)
        with pytest.raises(MissingDrawKey, match="SW_CUSTOMS_SELECTIVITY_KEY"):
            selectivity_key(settings, create=False)
        assert not key_file.exists()

    def test_holder_without_a_configured_key_creates_the_file(self, tmp_path: Path) -> None:
        key_file = tmp_path / "customs.key"
        RulebookHolder(copied_data(tmp_path, selectivity_key=None, selectivity_key_file=key_file))
        assert key_file.is_file()
