"""Customs risk assessment: which rules a declaration hits and the lane it goes to."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.contract.events import Outcome
from services.contract.rules_file import load_rules
from services.customs.domain.lanes import Lane
from services.customs.domain.risk import Hit, RiskProfile, RiskRule, assess
from tests.unit.builders import RISK_PROFILE, declaration, goods_item

ORCHIDS = "06029050"
LOGS = "4403110000"
LAPTOPS = "84713000"


@pytest.fixture(scope="module")
def shipped() -> RiskProfile:
    return load_rules(RISK_PROFILE, RiskProfile)


def rule(id: str, lane: Lane, **conditions: Any) -> RiskRule:
    return RiskRule(id=id, lane=lane, reason=f"{id} applies", **conditions)


def profile(*rules: RiskRule, default_lane: Lane = Lane.GREEN) -> RiskProfile:
    return RiskProfile(version="test", effective_from=date(2026, 1, 1), default_lane=default_lane, rules=rules)


class TestLane:
    @pytest.mark.parametrize(
        ("lane", "outcome"),
        [(Lane.GREEN, Outcome.RELEASED), (Lane.YELLOW, Outcome.HELD), (Lane.RED, Outcome.HELD)],
    )
    def test_only_green_releases(self, lane, outcome):
        assert lane.outcome is outcome

    def test_red_is_more_severe_than_yellow_than_green(self):
        assert Lane.GREEN.severity < Lane.YELLOW.severity < Lane.RED.severity


class TestShippedProfile:
    def test_roses_from_the_netherlands_go_green_without_hits(self, shipped):
        assessment = assess(shipped, declaration())
        assert assessment.lane is Lane.GREEN
        assert assessment.hits == ()

    @pytest.mark.parametrize("origin", ["TH", "VN"])
    def test_live_plants_from_listed_origins_go_red(self, shipped, origin):
        assessment = assess(shipped, declaration(goods_item(commodity_code=ORCHIDS, origin_country=origin)))
        assert assessment.lane is Lane.RED
        assert [hit.rule_id for hit in assessment.hits] == ["R-ORCHIDS-PHYSICAL"]

    def test_live_plants_from_other_origins_go_green(self, shipped):
        assessment = assess(shipped, declaration(goods_item(commodity_code=ORCHIDS, origin_country="NL")))
        assert assessment.lane is Lane.GREEN

    def test_rough_wood_goes_yellow(self, shipped):
        assessment = assess(shipped, declaration(goods_item(commodity_code=LOGS, origin_country="CM")))
        assert assessment.lane is Lane.YELLOW
        assert [hit.rule_id for hit in assessment.hits] == ["R-TIMBER-DOCS"]

    def test_most_severe_lane_wins_and_every_hit_names_its_goods_item(self, shipped):
        items = [
            goods_item(1, commodity_code=LAPTOPS, value="250000"),
            goods_item(2, commodity_code=ORCHIDS, origin_country="TH"),
            goods_item(3, commodity_code=LOGS, value="150000"),
        ]
        assessment = assess(shipped, declaration(*items))
        assert assessment.lane is Lane.RED
        assert {(hit.rule_id, hit.goods_item, hit.lane) for hit in assessment.hits} == {
            ("R-HIGH-VALUE", 1, Lane.YELLOW),
            ("R-ORCHIDS-PHYSICAL", 2, Lane.RED),
            ("R-TIMBER-DOCS", 3, Lane.YELLOW),
            ("R-HIGH-VALUE", 3, Lane.YELLOW),
        }

    @pytest.mark.parametrize(
        ("value", "lane"),
        [("100000", Lane.GREEN), ("100000.000001", Lane.YELLOW), ("99999.99", Lane.GREEN)],
    )
    def test_high_value_threshold_is_strictly_above(self, shipped, value, lane):
        assert assess(shipped, declaration(goods_item(commodity_code=LAPTOPS, value=value))).lane is lane


class TestBuiltProfiles:
    def test_default_lane_applies_when_no_rule_matches(self):
        strict = profile(rule("R-WOOD", Lane.RED, commodity_prefixes=("44",)), default_lane=Lane.YELLOW)
        assessment = assess(strict, declaration())
        assert assessment.lane is Lane.YELLOW
        assert assessment.hits == ()

    def test_profile_without_rules_gives_the_default_lane(self):
        assert assess(profile(default_lane=Lane.RED), declaration()).lane is Lane.RED

    def test_every_matching_rule_is_a_hit_with_its_reason(self):
        rules = profile(
            rule("R-ROSES", Lane.YELLOW, commodity_prefixes=("0603",)),
            rule("R-DUTCH", Lane.RED, origin_countries=("NL",)),
            rule("R-WOOD", Lane.RED, commodity_prefixes=("44",)),
        )
        assessment = assess(rules, declaration(goods_item(7)))
        assert assessment.hits == (
            Hit("R-ROSES", Lane.YELLOW, "R-ROSES applies", 7),
            Hit("R-DUTCH", Lane.RED, "R-DUTCH applies", 7),
        )
        assert assessment.lane is Lane.RED

    def test_one_item_hitting_decides_the_lane_of_the_declaration(self):
        rules = profile(rule("R-WOOD", Lane.YELLOW, commodity_prefixes=("44",)))
        items = [goods_item(1), goods_item(2, commodity_code=LOGS)]
        assessment = assess(rules, declaration(*items))
        assert assessment.lane is Lane.YELLOW
        assert [hit.goods_item for hit in assessment.hits] == [2]


class TestRiskRule:
    @pytest.mark.parametrize(
        ("item", "matches"),
        [
            pytest.param(goods_item(commodity_code=ORCHIDS, origin_country="TH", value="5001"), True, id="all-hold"),
            pytest.param(goods_item(commodity_code=LOGS, origin_country="TH", value="5001"), False, id="commodity"),
            pytest.param(goods_item(commodity_code=ORCHIDS, origin_country="NL", value="5001"), False, id="origin"),
            pytest.param(goods_item(commodity_code=ORCHIDS, origin_country="TH", value="5000"), False, id="value"),
        ],
    )
    def test_conditions_are_all_required(self, item, matches):
        orchids = rule(
            "R-ORCHIDS", Lane.RED, commodity_prefixes=("0602",), origin_countries=("TH",), min_item_value=Decimal(5000)
        )
        assert orchids.matches(item) is matches

    def test_rule_without_conditions_matches_every_item(self):
        assert rule("R-ALL", Lane.YELLOW).matches(goods_item(commodity_code=LAPTOPS))

    def test_any_listed_prefix_matches(self):
        wood = rule("R-WOOD", Lane.YELLOW, commodity_prefixes=("4403", "4407"))
        assert wood.matches(goods_item(commodity_code="44071091"))
        assert not wood.matches(goods_item(commodity_code="44011000"))
