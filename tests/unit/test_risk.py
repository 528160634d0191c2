"""Customs risk assessment: each kind of rule condition, lanes, AEO and mutual recognition, random selection.

Every assessment here is made by the compiled engine and checked against the plain reading of the profile.
"""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.contract.declaration import Declaration
from services.contract.events import Outcome
from services.contract.keyed_draw import KeyedDraw
from services.contract.rules_file import load_rules
from services.customs.domain.exchange_rates import ExchangeRates, RatePeriod
from services.customs.domain.facts import DeclarationFacts, ItemFacts, PartnerStanding, facts_of
from services.customs.domain.lanes import Lane, most_severe
from services.customs.domain.risk import (
    AeoPolicy,
    Benefit,
    MutualRecognition,
    RandomSelection,
    RiskProfile,
    RiskRule,
    ValuationBand,
)
from services.customs.domain.risk_engine import RANDOM_RULE, Assessment, Hit, RiskEngine, assess_naively
from services.customs.domain.traders import AeoCertificate, AeoProgramme, PartnerCertification, Trader, TraderRegister
from services.customs.domain.watch_lists import WatchList, WatchLists
from tests.unit.builders import DECLARATION_ID, RISK_PROFILE, declaration, document, goods_item

ROSES = "06031100"
ORCHIDS = "06029050"
LOGS = "44031100"
IMPORTER = "GB123456789000"
"""The example's declarant and importer."""
AUDITED = "GB987654321000"
DAY = date(2026, 11, 20)
KEY = b"unit-test-selection-key"
DRAW = KeyedDraw(KEY)
CONDITION_KINDS = ("commodity", "origin", "trader", "value", "weight", "watch_list", "document", "valuation")

RATES = ExchangeRates(
    version="test",
    effective_from=date(2026, 1, 1),
    currency="GBP",
    periods=(RatePeriod(valid_from=date(2026, 1, 1), rates={"EUR": Decimal("1.25")}),),
)
WATCH_LISTS = WatchLists(
    version="test",
    effective_from=date(2026, 1, 1),
    lists=(
        WatchList(name="sanctions", reason="sanctions screening", trader_ids=("GB555555555000",)),
        WatchList(
            name="undervaluation",
            reason="undervalued before",
            trader_ids=("GB444444444000",),
            names=("Cheap Goods Export Ltd",),
        ),
    ),
)
ROSES_BAND = ValuationBand(hs6="060311", low=Decimal("1.50"), high=Decimal("40.00"))
KENYAN_ROSES_BAND = ValuationBand(hs6="060311", origin_countries=("KE",), low=Decimal("0.50"), high=Decimal("10.00"))


def rule(id: str, lane: Lane = Lane.RED, **conditions: Any) -> RiskRule:
    return RiskRule(id=id, lane=lane, reason=f"{id} applies", **conditions)


def profile(*rules: RiskRule, **fields: Any) -> RiskProfile:
    return RiskProfile(version="test-1", effective_from=date(2026, 1, 1), rules=rules, **fields)


def item(
    sequence: int = 1,
    *,
    commodity_code: str = ROSES,
    origin: str = "NL",
    value: str = "1000.00",
    net_mass_kg: str | None = "100",
    gross_mass_kg: str | None = "110",
    documents: tuple[str, ...] = (),
) -> ItemFacts:
    """A goods item worth 10.00 per kg of net mass, in national currency."""
    return ItemFacts(
        sequence=sequence,
        commodity_code=commodity_code,
        origin=origin,
        value=Decimal(value),
        net_mass_kg=None if net_mass_kg is None else Decimal(net_mass_kg),
        gross_mass_kg=None if gross_mass_kg is None else Decimal(gross_mass_kg),
        documents=frozenset(documents),
    )


def facts(
    *items: ItemFacts,
    parties: tuple[str, ...] = (IMPORTER,),
    watch_lists: tuple[str, ...] = (),
    aeo: AeoProgramme | None = None,
    partner: PartnerStanding | None = None,
    declaration_id: str = DECLARATION_ID,
) -> DeclarationFacts:
    return DeclarationFacts(
        declaration_id=declaration_id,
        parties=frozenset(parties),
        watch_lists=frozenset(watch_lists),
        aeo=aeo,
        partner=partner,
        items=items or (item(),),
    )


def register(*traders: Trader, partners: tuple[PartnerCertification, ...] = ()) -> TraderRegister:
    return TraderRegister(version="test", effective_from=date(2026, 1, 1), traders=traders, partner_certified=partners)


NOBODY_CERTIFIED = register()


def facts_from(declaration: Declaration, *, trader_register: TraderRegister = NOBODY_CERTIFIED) -> DeclarationFacts:
    return facts_of(DECLARATION_ID, declaration, rates=RATES, register=trader_register, watch_lists=WATCH_LISTS, on=DAY)


def assessed(profile: RiskProfile, facts: DeclarationFacts) -> Assessment:
    """The compiled engine's assessment, once the plain reading of the profile has given the same."""
    assessment = RiskEngine(profile, DRAW).assess(facts)
    assert assessment == assess_naively(profile, DRAW, facts)
    return assessment


def hit_ids(assessment: Assessment) -> list[str]:
    return [hit.rule_id for hit in assessment.hits]


def aeo_trader(trader_id: str, programme: AeoProgramme, *, valid_to: date | None = None) -> Trader:
    certificate = AeoCertificate(programme=programme, reference="AEO-1", valid_from=date(2024, 1, 1), valid_to=valid_to)
    return Trader(id=trader_id, name="Certified Trader Ltd", aeo=certificate)


@pytest.fixture(scope="module")
def shipped() -> RiskProfile:
    return load_rules(RISK_PROFILE, RiskProfile)


@pytest.fixture(scope="module")
def shipped_without_random_selection(shipped: RiskProfile) -> RiskProfile:
    return shipped.model_copy(update={"random_selection": RandomSelection()})


class TestLane:
    @pytest.mark.parametrize(
        ("lane", "outcome"),
        [
            (Lane.GREEN, Outcome.RELEASED),
            (Lane.BLUE, Outcome.RELEASED),
            (Lane.YELLOW, Outcome.HELD),
            (Lane.RED, Outcome.HELD),
        ],
    )
    def test_green_and_blue_release_yellow_and_red_hold(self, lane, outcome):
        assert lane.outcome is outcome

    def test_severity_rises_from_green_to_blue_to_yellow_to_red(self):
        assert Lane.GREEN.severity < Lane.BLUE.severity < Lane.YELLOW.severity < Lane.RED.severity
        assert most_severe([Lane.BLUE, Lane.RED, Lane.GREEN, Lane.YELLOW]) is Lane.RED

    @pytest.mark.parametrize(
        ("lane", "relieved"),
        [(Lane.RED, Lane.YELLOW), (Lane.YELLOW, Lane.GREEN), (Lane.BLUE, Lane.BLUE), (Lane.GREEN, Lane.GREEN)],
    )
    def test_relief_lightens_red_and_yellow_by_one_step(self, lane, relieved):
        assert lane.relieved() is relieved


class TestCommodityPrefix:
    @pytest.mark.parametrize("prefix", ["06", "0603", "060311", ROSES])
    def test_code_starting_with_the_prefix_hits(self, prefix):
        assessment = assessed(profile(rule("R-ROSES", commodity_prefixes=(prefix,))), facts(item()))
        assert assessment.hits == (Hit("R-ROSES", Lane.RED, "R-ROSES applies", 1),)
        assert assessment.lane is Lane.RED

    @pytest.mark.parametrize("prefix", ["07", "0602", "06031200", "0603110010"])
    def test_code_not_starting_with_the_prefix_misses(self, prefix):
        assessment = assessed(profile(rule("R-OTHER", commodity_prefixes=(prefix,))), facts(item()))
        assert assessment.hits == ()
        assert assessment.lane is Lane.GREEN

    def test_any_listed_prefix_hits(self):
        wood = profile(rule("R-WOOD", commodity_prefixes=("4403", "4407")))
        assert hit_ids(assessed(wood, facts(item(commodity_code="44071091")))) == ["R-WOOD"]
        assert hit_ids(assessed(wood, facts(item(commodity_code="44011000")))) == []

    def test_prefix_can_reach_into_the_taric_code(self):
        taric = profile(rule("R-TARIC", commodity_prefixes=("0603110010",)))
        with_taric = declaration(goods_item(commodity_code=ROSES, taric_code="10"))
        without_taric = declaration(goods_item(commodity_code=ROSES))
        assert hit_ids(assessed(taric, facts_from(with_taric))) == ["R-TARIC"]
        assert hit_ids(assessed(taric, facts_from(without_taric))) == []


class TestOrigin:
    def test_listed_origin_hits(self):
        dutch = profile(rule("R-ORIGIN", origin_countries=("KE", "NL")))
        assert hit_ids(assessed(dutch, facts(item(origin="NL")))) == ["R-ORIGIN"]

    def test_other_origin_misses(self):
        dutch = profile(rule("R-ORIGIN", origin_countries=("KE", "NL")))
        assert hit_ids(assessed(dutch, facts(item(origin="CO")))) == []


class TestTraders:
    @pytest.mark.parametrize("party", ["declarant", "importer", "exporter"])
    def test_listed_trader_in_any_party_role_hits(self, party):
        audit = profile(rule("R-AUDIT", Lane.BLUE, traders=(AUDITED,)))
        in_role: dict[str, Any] = {party: {"id": AUDITED}}
        assessment = assessed(audit, facts_from(declaration(**in_role)))
        assert hit_ids(assessment) == ["R-AUDIT"]
        assert assessment.lane is Lane.BLUE

    def test_unlisted_traders_miss(self):
        audit = profile(rule("R-AUDIT", Lane.BLUE, traders=(AUDITED,)))
        assert hit_ids(assessed(audit, facts_from(declaration()))) == []

    def test_trader_rule_hits_every_goods_item(self):
        audit = profile(rule("R-AUDIT", Lane.BLUE, traders=(AUDITED,)))
        assessment = assessed(audit, facts(item(1), item(2), parties=(IMPORTER, AUDITED)))
        assert [(hit.rule_id, hit.goods_item) for hit in assessment.hits] == [("R-AUDIT", 1), ("R-AUDIT", 2)]


class TestValueThreshold:
    @pytest.mark.parametrize(
        ("value", "hits"),
        [("4999.99", False), ("5000.00", False), ("5000.01", True), ("250000", True)],
    )
    def test_value_must_be_strictly_above_the_minimum(self, value, hits):
        high_value = profile(rule("R-VALUE", Lane.YELLOW, min_item_value=Decimal(5000)))
        assessment = assessed(high_value, facts(item(value=value)))
        assert hit_ids(assessment) == (["R-VALUE"] if hits else [])

    def test_value_is_compared_in_national_currency(self):
        roses = declaration(goods_item(value="8400.00"))  # EUR, 6720.00 GBP at 1.25
        below = profile(rule("R-VALUE", min_item_value=Decimal("6719.99")))
        at = profile(rule("R-VALUE", min_item_value=Decimal("6720.00")))
        assert hit_ids(assessed(below, facts_from(roses))) == ["R-VALUE"]
        assert hit_ids(assessed(at, facts_from(roses))) == []

    def test_threshold_applies_to_each_goods_item_not_their_sum(self):
        high_value = profile(rule("R-VALUE", min_item_value=Decimal(5000)))
        assessment = assessed(high_value, facts(item(1, value="3000"), item(2, value="3000")))
        assert assessment.hits == ()


class TestWeightThresholds:
    @pytest.mark.parametrize(("net_mass_kg", "hits"), [("999.999", False), ("1000", False), ("1000.001", True)])
    def test_net_mass_must_be_strictly_above_the_minimum(self, net_mass_kg, hits):
        heavy = profile(rule("R-NET", Lane.YELLOW, min_net_mass_kg=Decimal(1000)))
        assessment = assessed(heavy, facts(item(net_mass_kg=net_mass_kg, gross_mass_kg=None)))
        assert hit_ids(assessment) == (["R-NET"] if hits else [])

    @pytest.mark.parametrize(("gross_mass_kg", "hits"), [("23999", False), ("24000", False), ("24000.5", True)])
    def test_gross_mass_must_be_strictly_above_the_minimum(self, gross_mass_kg, hits):
        heavy = profile(rule("R-GROSS", Lane.YELLOW, min_gross_mass_kg=Decimal(24000)))
        assessment = assessed(heavy, facts(item(net_mass_kg="100", gross_mass_kg=gross_mass_kg)))
        assert hit_ids(assessment) == (["R-GROSS"] if hits else [])

    def test_net_and_gross_thresholds_are_checked_apart(self):
        heavy_gross = profile(rule("R-GROSS", min_gross_mass_kg=Decimal(500)))
        assessment = assessed(heavy_gross, facts(item(net_mass_kg="100000", gross_mass_kg="400")))
        assert assessment.hits == ()

    def test_undeclared_mass_never_hits(self):
        heavy = profile(
            rule("R-NET", min_net_mass_kg=Decimal(0)),
            rule("R-GROSS", min_gross_mass_kg=Decimal(0)),
        )
        assert assessed(heavy, facts(item(net_mass_kg=None, gross_mass_kg=None))).hits == ()

    def test_net_mass_is_the_quantity_when_declared_in_kilograms(self):
        heavy = profile(rule("R-NET", min_net_mass_kg=Decimal(1000)))
        in_kilograms = declaration(goods_item(quantity={"value": "1200", "unit": "KGM"}))
        in_stems = declaration(goods_item(quantity={"value": "1200", "unit": "NAR"}))
        assert hit_ids(assessed(heavy, facts_from(in_kilograms))) == ["R-NET"]
        assert hit_ids(assessed(heavy, facts_from(in_stems))) == []


class TestWatchList:
    def test_party_listed_by_trader_id_hits(self):
        watched = profile(rule("R-WATCH", Lane.YELLOW, watch_list="undervaluation"))
        assessment = assessed(watched, facts_from(declaration(importer={"id": "GB444444444000"})))
        assert hit_ids(assessment) == ["R-WATCH"]

    @pytest.mark.parametrize("name", ["Cheap Goods Export Ltd", "CHEAP goods export LTD", "Cheap  Goods\tExport Ltd"])
    def test_exporter_listed_by_name_hits_whatever_its_case_and_spacing(self, name):
        watched = profile(rule("R-WATCH", Lane.YELLOW, watch_list="undervaluation"))
        exporter = {"name": name, "address": {"country_code": "CN"}}
        assert hit_ids(assessed(watched, facts_from(declaration(exporter=exporter)))) == ["R-WATCH"]

    def test_party_on_another_list_misses(self):
        sanctions = profile(rule("R-SANCTIONS", watch_list="sanctions"))
        assessment = assessed(sanctions, facts_from(declaration(importer={"id": "GB444444444000"})))
        assert assessment.hits == ()

    def test_parties_on_no_list_miss(self):
        watched = profile(rule("R-WATCH", watch_list="undervaluation"))
        assert assessed(watched, facts_from(declaration())).hits == ()


class TestRestrictedGoods:
    def test_goods_without_any_of_the_documents_hit(self):
        cites = profile(rule("R-CITES", without_documents=("C400", "C401")))
        no_documents = declaration(goods_item(commodity_code=ORCHIDS))
        other_document = declaration(goods_item(commodity_code=ORCHIDS, documents=[document("GB-1", "N851")]))
        assert hit_ids(assessed(cites, facts_from(no_documents))) == ["R-CITES"]
        assert hit_ids(assessed(cites, facts_from(other_document))) == ["R-CITES"]

    @pytest.mark.parametrize("code", ["C400", "C401"])
    def test_one_of_the_documents_cited_on_the_item_is_enough(self, code):
        cites = profile(rule("R-CITES", without_documents=("C400", "C401")))
        permitted = declaration(goods_item(commodity_code=ORCHIDS, documents=[document("CITES-1", code)]))
        assert assessed(cites, facts_from(permitted)).hits == ()

    @pytest.mark.parametrize(("status", "restricted"), [(None, False), ("AE", False), ("UA", True), ("XW", True)])
    def test_a_permit_declared_unavailable_or_waived_is_no_permit(self, status, restricted):
        cites = profile(rule("R-CITES", without_documents=("C400",)))
        cited = declaration(goods_item(commodity_code=ORCHIDS, documents=[document("CITES-1", "C400", status)]))
        assert hit_ids(assessed(cites, facts_from(cited))) == (["R-CITES"] if restricted else [])

    def test_document_cited_for_the_whole_declaration_covers_every_item(self):
        cites = profile(rule("R-CITES", without_documents=("C400",)))
        items = [goods_item(1, commodity_code=ORCHIDS), goods_item(2, commodity_code=ORCHIDS)]
        permitted = declaration(*items, documents=[document("CITES-1", "C400")])
        assert assessed(cites, facts_from(permitted)).hits == ()

    def test_document_cited_on_one_item_does_not_cover_another(self):
        cites = profile(rule("R-CITES", without_documents=("C400",)))
        items = [
            goods_item(1, commodity_code=ORCHIDS, documents=[document("CITES-1", "C400")]),
            goods_item(2, commodity_code=ORCHIDS),
        ]
        assessment = assessed(cites, facts_from(declaration(*items)))
        assert [hit.goods_item for hit in assessment.hits] == [2]


class TestProhibitedGoods:
    def test_prohibited_goods_refuse_the_declaration(self):
        ivory = profile(rule("R-IVORY", commodity_prefixes=("960110",), refuse=True, aeo_relief=False))
        assessment = assessed(ivory, facts(item(1), item(2, commodity_code="96011000")))
        assert assessment.refused
        assert assessment.hits == (Hit("R-IVORY", Lane.RED, "R-IVORY applies", 2, refuse=True),)
        assert assessment.lane is Lane.RED

    def test_other_goods_are_not_refused(self):
        ivory = profile(rule("R-IVORY", commodity_prefixes=("960110",), refuse=True, aeo_relief=False))
        assert not assessed(ivory, facts(item())).refused

    def test_a_hit_that_does_not_refuse_leaves_the_declaration_unrefused(self):
        assert not assessed(profile(rule("R-RED", origin_countries=("NL",))), facts(item())).refused

    def test_lane_relief_does_not_soften_a_refusal(self):
        ivory = profile(
            rule("R-IVORY", commodity_prefixes=("9601",), refuse=True, aeo_relief=False),
            aeo=AeoPolicy(benefits={AeoProgramme.AEOF: (Benefit.LANE_RELIEF,)}),
        )
        assessment = assessed(ivory, facts(item(commodity_code="96011000"), aeo=AeoProgramme.AEOF))
        assert assessment.refused
        assert assessment.lane is Lane.RED
        assert assessment.hits[0].relieved_from is None


class TestValuationBand:
    @pytest.mark.parametrize(
        ("value", "hits"),
        [
            ("149.99", True),
            ("150.00", False),
            ("1000.00", False),
            ("4000.00", False),
            ("4000.01", True),
        ],
    )
    def test_unit_value_outside_the_band_hits_and_its_bounds_are_inside(self, value, hits):
        valuation = profile(rule("R-BAND", Lane.YELLOW, outside_valuation_band=True), valuation_bands=(ROSES_BAND,))
        assessment = assessed(valuation, facts(item(value=value, net_mass_kg="100")))
        assert hit_ids(assessment) == (["R-BAND"] if hits else [])

    def test_reason_gives_the_unit_value_and_the_band(self):
        valuation = profile(rule("R-BAND", Lane.YELLOW, outside_valuation_band=True), valuation_bands=(ROSES_BAND,))
        (hit,) = assessed(valuation, facts(item(value="100.00", net_mass_kg="200"))).hits
        assert hit.reason == "R-BAND applies: 0.50 per kg, outside 1.50-40.00 per kg for 060311"

    @pytest.mark.parametrize(
        ("origin", "value", "hits"),
        [
            pytest.param("KE", "2000.00", True, id="above-the-origin-band-inside-the-general-one"),
            pytest.param("KE", "100.00", False, id="inside-the-origin-band-below-the-general-one"),
            pytest.param("NL", "100.00", True, id="other-origin-below-the-general-band"),
            pytest.param("NL", "2000.00", False, id="other-origin-inside-the-general-band"),
        ],
    )
    def test_band_for_the_origin_is_preferred_to_the_band_for_any_origin(self, origin, value, hits):
        valuation = profile(
            rule("R-BAND", Lane.YELLOW, outside_valuation_band=True),
            valuation_bands=(ROSES_BAND, KENYAN_ROSES_BAND),
        )
        assessment = assessed(valuation, facts(item(origin=origin, value=value, net_mass_kg="100")))
        assert hit_ids(assessment) == (["R-BAND"] if hits else [])

    def test_origin_band_reason_names_the_origin_band(self):
        valuation = profile(
            rule("R-BAND", outside_valuation_band=True), valuation_bands=(KENYAN_ROSES_BAND, ROSES_BAND)
        )
        (hit,) = assessed(valuation, facts(item(origin="KE", value="2000.00", net_mass_kg="100"))).hits
        assert hit.reason.endswith("20.00 per kg, outside 0.50-10.00 per kg for 060311")

    def test_goods_without_a_band_for_their_code_miss(self):
        valuation = profile(rule("R-BAND", outside_valuation_band=True), valuation_bands=(ROSES_BAND,))
        assert assessed(valuation, facts(item(commodity_code=LOGS, value="1"))).hits == ()

    def test_goods_without_a_net_mass_miss(self):
        valuation = profile(rule("R-BAND", outside_valuation_band=True), valuation_bands=(ROSES_BAND,))
        assert assessed(valuation, facts(item(value="1", net_mass_kg=None))).hits == ()

    def test_unit_value_is_the_customs_value_per_kilogram_of_net_mass(self):
        assert item(value="1000.00", net_mass_kg="400").unit_value == Decimal("2.5")
        assert item(net_mass_kg=None).unit_value is None


class TestCombinedConditions:
    EVERY_CONDITION = rule(
        "R-EVERY",
        commodity_prefixes=("0603",),
        origin_countries=("KE",),
        traders=(IMPORTER,),
        min_item_value=Decimal("4999.99"),
        min_net_mass_kg=Decimal(50),
        min_gross_mass_kg=Decimal(110),
        watch_list="undervaluation",
        without_documents=("C400",),
        outside_valuation_band=True,
    )
    MATCHING_ITEM: dict[str, Any] = {"origin": "KE", "value": "5000.00", "net_mass_kg": "100", "gross_mass_kg": "120"}
    MATCHING_DECLARATION: dict[str, Any] = {"parties": (IMPORTER,), "watch_lists": ("undervaluation",)}

    def assess_with(self, item_changes: dict[str, Any], declaration_changes: dict[str, Any]) -> Assessment:
        every = profile(self.EVERY_CONDITION, valuation_bands=(KENYAN_ROSES_BAND,))
        goods = item(**{**self.MATCHING_ITEM, **item_changes})
        return assessed(every, facts(goods, **{**self.MATCHING_DECLARATION, **declaration_changes}))

    def test_rule_states_every_kind_of_condition(self):
        assert self.EVERY_CONDITION.kinds == CONDITION_KINDS

    def test_rule_hits_when_every_condition_holds(self):
        assert hit_ids(self.assess_with({}, {})) == ["R-EVERY"]

    @pytest.mark.parametrize(
        ("item_changes", "declaration_changes"),
        [
            pytest.param({"commodity_code": "06029050"}, {}, id="commodity"),
            pytest.param({"origin": "NL"}, {}, id="origin"),
            pytest.param({}, {"parties": ("GB111111111000",)}, id="trader"),
            pytest.param({"value": "4999.99"}, {}, id="value"),
            pytest.param({"value": "5000.00", "net_mass_kg": "50"}, {}, id="net-mass"),
            pytest.param({"gross_mass_kg": "110"}, {}, id="gross-mass"),
            pytest.param({}, {"watch_lists": ("sanctions",)}, id="watch-list"),
            pytest.param({"documents": ("C400",)}, {}, id="document"),
            pytest.param({"value": "6000.00", "net_mass_kg": "600", "gross_mass_kg": "650"}, {}, id="valuation"),
        ],
    )
    def test_rule_misses_when_any_one_condition_fails(self, item_changes, declaration_changes):
        assert self.assess_with(item_changes, declaration_changes).hits == ()


class TestLanes:
    def test_default_lane_applies_when_no_rule_hits(self):
        strict = profile(rule("R-WOOD", commodity_prefixes=("44",)), default_lane=Lane.YELLOW)
        assessment = assessed(strict, facts(item()))
        assert assessment.hits == ()
        assert assessment.lane is Lane.YELLOW

    def test_default_lane_is_a_floor_that_a_lighter_hit_does_not_lower(self):
        strict = profile(rule("R-ROSES", Lane.BLUE, commodity_prefixes=("0603",)), default_lane=Lane.YELLOW)
        assert assessed(strict, facts(item())).lane is Lane.YELLOW

    def test_default_lane_gives_way_to_a_more_severe_hit(self):
        strict = profile(rule("R-ROSES", Lane.RED, commodity_prefixes=("0603",)), default_lane=Lane.YELLOW)
        assert assessed(strict, facts(item())).lane is Lane.RED

    @pytest.mark.parametrize(
        ("lanes", "expected"),
        [
            ((Lane.GREEN, Lane.BLUE), Lane.BLUE),
            ((Lane.YELLOW, Lane.BLUE), Lane.YELLOW),
            ((Lane.BLUE, Lane.RED, Lane.YELLOW), Lane.RED),
        ],
    )
    def test_most_severe_lane_of_the_hits_wins(self, lanes, expected):
        rules = [rule(f"R-{index}", lane, origin_countries=("NL",)) for index, lane in enumerate(lanes)]
        assessment = assessed(profile(*rules), facts(item()))
        assert [hit.lane for hit in assessment.hits] == list(lanes)
        assert assessment.lane is expected

    def test_hits_are_ordered_by_goods_item_then_by_profile_order(self):
        rules = profile(
            rule("R-VALUE", Lane.YELLOW, min_item_value=Decimal(500)),
            rule("R-LOGS", Lane.YELLOW, commodity_prefixes=("4403",)),
            rule("R-DUTCH", Lane.BLUE, origin_countries=("NL",)),
            rule("R-IMPORTER", Lane.BLUE, traders=(IMPORTER,)),
        )
        items = (item(1, commodity_code=LOGS, value="100"), item(2, value="900"), item(3, commodity_code=LOGS))
        assessment = assessed(rules, facts(*items))
        assert [(hit.goods_item, hit.rule_id) for hit in assessment.hits] == [
            (1, "R-LOGS"),
            (1, "R-DUTCH"),
            (1, "R-IMPORTER"),
            (2, "R-VALUE"),
            (2, "R-DUTCH"),
            (2, "R-IMPORTER"),
            (3, "R-VALUE"),
            (3, "R-LOGS"),
            (3, "R-DUTCH"),
            (3, "R-IMPORTER"),
        ]


class TestAeo:
    RELIEF = AeoPolicy(benefits={AeoProgramme.AEOS: (Benefit.LANE_RELIEF,), AeoProgramme.AEOC: (Benefit.PRIORITY,)})

    @pytest.mark.parametrize(
        ("lane", "relieved"),
        [(Lane.RED, Lane.YELLOW), (Lane.YELLOW, Lane.GREEN)],
    )
    def test_lane_relief_lightens_a_hit_by_one_step_and_records_its_own_lane(self, lane, relieved):
        relief = profile(rule("R-DUTCH", lane, origin_countries=("NL",)), aeo=self.RELIEF)
        assessment = assessed(relief, facts(item(), aeo=AeoProgramme.AEOS))
        assert assessment.hits == (Hit("R-DUTCH", relieved, "R-DUTCH applies", 1, relieved_from=lane),)
        assert assessment.lane is relieved

    def test_blue_hit_stays_blue_and_is_not_marked_relieved(self):
        relief = profile(rule("R-AUDIT", Lane.BLUE, origin_countries=("NL",)), aeo=self.RELIEF)
        (hit,) = assessed(relief, facts(item(), aeo=AeoProgramme.AEOS)).hits
        assert (hit.lane, hit.relieved_from) == (Lane.BLUE, None)

    def test_rule_without_aeo_relief_keeps_its_lane(self):
        sanctions = profile(
            rule("R-SANCTIONS", watch_list="sanctions", aeo_relief=False),
            rule("R-DUTCH", origin_countries=("NL",)),
            aeo=self.RELIEF,
        )
        assessment = assessed(sanctions, facts(item(), watch_lists=("sanctions",), aeo=AeoProgramme.AEOS))
        assert [(hit.rule_id, hit.lane, hit.relieved_from) for hit in assessment.hits] == [
            ("R-SANCTIONS", Lane.RED, None),
            ("R-DUTCH", Lane.YELLOW, Lane.RED),
        ]
        assert assessment.lane is Lane.RED

    def test_programme_without_lane_relief_keeps_every_lane(self):
        relief = profile(rule("R-DUTCH", origin_countries=("NL",)), aeo=self.RELIEF)
        assessment = assessed(relief, facts(item(), aeo=AeoProgramme.AEOC))
        assert assessment.lane is Lane.RED
        assert assessment.benefits == {Benefit.PRIORITY}

    @pytest.mark.parametrize(
        ("programme", "benefits"),
        [
            (AeoProgramme.AEOC, {Benefit.FEWER_RANDOM_CHECKS, Benefit.PRIORITY}),
            (AeoProgramme.AEOS, {Benefit.LANE_RELIEF, Benefit.PRIORITY}),
            (AeoProgramme.AEOF, {Benefit.LANE_RELIEF, Benefit.FEWER_RANDOM_CHECKS, Benefit.PRIORITY}),
            (None, set()),
        ],
    )
    def test_shipped_profile_grants_each_programme_its_benefits(self, shipped, programme, benefits):
        assessment = assessed(shipped, facts(item(), aeo=programme))
        assert assessment.benefits == benefits
        assert assessment.priority is (Benefit.PRIORITY in benefits)

    def test_importer_with_a_valid_certificate_earns_its_programme_benefits(self):
        relief = profile(rule("R-DUTCH", origin_countries=("NL",)), aeo=self.RELIEF)
        certified = register(aeo_trader(IMPORTER, AeoProgramme.AEOS, valid_to=DAY))
        assessment = assessed(relief, facts_from(declaration(), trader_register=certified))
        assert assessment.benefits == {Benefit.LANE_RELIEF}
        assert assessment.lane is Lane.YELLOW

    def test_expired_certificate_earns_nothing(self):
        relief = profile(rule("R-DUTCH", origin_countries=("NL",)), aeo=self.RELIEF)
        expired = register(aeo_trader(IMPORTER, AeoProgramme.AEOS, valid_to=date(2026, 11, 19)))
        the_facts = facts_from(declaration(), trader_register=expired)
        assessment = assessed(relief, the_facts)
        assert the_facts.aeo is None
        assert assessment.benefits == set()
        assert assessment.lane is Lane.RED

    def test_declarant_aeoc_and_importer_aeos_together_count_as_aeof(self):
        both = register(aeo_trader("GB111111111000", AeoProgramme.AEOC), aeo_trader(IMPORTER, AeoProgramme.AEOS))
        the_facts = facts_from(declaration(declarant={"id": "GB111111111000"}), trader_register=both)
        assert the_facts.aeo is AeoProgramme.AEOF

    def test_exporter_certificate_in_the_national_register_earns_nothing(self):
        certified = register(aeo_trader(AUDITED, AeoProgramme.AEOF))
        assert facts_from(declaration(exporter={"id": AUDITED}), trader_register=certified).aeo is None


class TestMutualRecognition:
    @pytest.mark.parametrize(
        ("administration", "programme", "benefits"),
        [
            ("US", "C-TPAT", {Benefit.LANE_RELIEF, Benefit.PRIORITY}),
            ("CA", "PIP", {Benefit.LANE_RELIEF}),
            ("JP", "AEO", {Benefit.LANE_RELIEF, Benefit.PRIORITY}),
        ],
    )
    def test_exporter_certified_under_an_arrangement_earns_its_benefits(
        self, shipped, administration, programme, benefits
    ):
        partner = PartnerStanding(administration, programme)
        assert assessed(shipped, facts(item(), partner=partner)).benefits == benefits

    @pytest.mark.parametrize(
        ("administration", "programme"),
        [("US", "PIP"), ("CA", "C-TPAT"), ("NZ", "SES")],
        ids=["other-programme", "other-administration", "no-arrangement"],
    )
    def test_certification_outside_the_arrangements_earns_nothing(self, shipped, administration, programme):
        partner = PartnerStanding(administration, programme)
        assert assessed(shipped, facts(item(), partner=partner)).benefits == set()

    def test_partner_certified_exporter_gets_lane_relief(self):
        arrangement = MutualRecognition(
            arrangement="UK-US AEO MRA", administration="US", programmes=("C-TPAT",), benefits=(Benefit.LANE_RELIEF,)
        )
        relief = profile(rule("R-DUTCH", origin_countries=("NL",)), mutual_recognition=(arrangement,))
        certified = register(
            partners=(
                PartnerCertification(partner_id="US123456789", administration="US", programme="C-TPAT", valid_from=DAY),
            )
        )
        the_facts = facts_from(declaration(exporter={"id": "US123456789"}), trader_register=certified)
        assessment = assessed(relief, the_facts)
        assert the_facts.partner == PartnerStanding("US", "C-TPAT")
        assert assessment.hits[0].relieved_from is Lane.RED
        assert assessment.lane is Lane.YELLOW

    def test_aeo_and_partner_benefits_add_up(self, shipped):
        both = facts(item(), aeo=AeoProgramme.AEOC, partner=PartnerStanding("CA", "PIP"))
        assert assessed(shipped, both).benefits == {Benefit.FEWER_RANDOM_CHECKS, Benefit.PRIORITY, Benefit.LANE_RELIEF}


def declaration_ids(count: int) -> list[str]:
    return [f"01JD{number:022d}" for number in range(count)]


def drawn(profile: RiskProfile, low: float, high: float) -> str:
    """A declaration id whose draw under this profile falls in [low, high)."""
    return next(id for id in declaration_ids(10_000) if low <= DRAW(profile.version, id) < high)


class TestRandomSelection:
    SELECTION = RandomSelection(red=Decimal("0.05"), yellow=Decimal("0.10"), blue=Decimal("0.15"))

    def test_draw_is_the_same_for_the_same_declaration_profile_version_and_key(self):
        again = KeyedDraw(KEY)
        assert [DRAW("v1", id) for id in declaration_ids(100)] == [again("v1", id) for id in declaration_ids(100)]

    def test_draw_changes_with_the_declaration_the_profile_version_or_the_key(self):
        other_key = KeyedDraw(b"another-selection-key")
        for id in declaration_ids(100):
            assert DRAW("v1", id) != DRAW("v2", id)
            assert DRAW("v1", id) != other_key("v1", id)
        assert len({DRAW("v1", id) for id in declaration_ids(100)}) == 100

    def test_draw_is_in_the_unit_interval(self):
        assert all(0 <= DRAW("v1", id) < 1 for id in declaration_ids(1000))

    def test_short_key_is_refused(self):
        with pytest.raises(ValueError, match="at least 16 bytes"):
            KeyedDraw(b"too-short")

    @pytest.mark.parametrize(
        ("draw", "factor", "lane"),
        [
            (0.0, Decimal(1), Lane.RED),
            (0.0499, Decimal(1), Lane.RED),
            (0.05, Decimal(1), Lane.YELLOW),
            (0.1499, Decimal(1), Lane.YELLOW),
            (0.1501, Decimal(1), Lane.BLUE),
            (0.2999, Decimal(1), Lane.BLUE),
            (0.3001, Decimal(1), None),
            (0.0249, Decimal("0.5"), Lane.RED),
            (0.0499, Decimal("0.5"), Lane.YELLOW),
            (0.1499, Decimal("0.5"), Lane.BLUE),
            (0.1501, Decimal("0.5"), None),
        ],
    )
    def test_rates_stack_from_the_most_severe_lane_and_scale_by_the_factor(self, draw, factor, lane):
        assert self.SELECTION.lane_for(draw, factor) is lane

    def test_selection_is_a_declaration_hit_whatever_the_rules_say(self):
        random = profile(random_selection=self.SELECTION)
        assessment = assessed(random, facts(item(), declaration_id=drawn(random, 0.0, 0.05)))
        assert assessment.hits == (Hit(RANDOM_RULE, Lane.RED, "chosen at random for a red lane check", None),)
        assert assessment.lane is Lane.RED

    @pytest.mark.parametrize(
        ("version", "key"),
        [("test-2", KEY), ("test-1", b"another-selection-key")],
        ids=["new-profile-version", "new-key"],
    )
    def test_another_profile_version_or_key_selects_other_declarations(self, version, key):
        random = profile(random_selection=self.SELECTION)
        redrawn = RiskEngine(random.model_copy(update={"version": version}), KeyedDraw(key))

        def selected(engine: RiskEngine) -> dict[str, Lane]:
            lanes = {id: engine.assess(facts(item(), declaration_id=id)).lane for id in declaration_ids(1000)}
            return {id: lane for id, lane in lanes.items() if lane is not Lane.GREEN}

        assert selected(RiskEngine(random, DRAW)) == selected(RiskEngine(random, KeyedDraw(b"unit-test-selection-key")))
        assert selected(RiskEngine(random, DRAW)) != selected(redrawn)

    def test_fewer_random_checks_scales_the_rates_by_the_aeo_factor(self):
        random = profile(
            random_selection=self.SELECTION,
            aeo=AeoPolicy(
                benefits={AeoProgramme.AEOC: (Benefit.FEWER_RANDOM_CHECKS,)}, random_rate_factor=Decimal("0.5")
            ),
        )
        chosen_only_without_aeo = drawn(random, 0.03, 0.05)
        without_aeo = assessed(random, facts(item(), declaration_id=chosen_only_without_aeo))
        with_aeo = assessed(random, facts(item(), declaration_id=chosen_only_without_aeo, aeo=AeoProgramme.AEOC))
        assert hit_ids(without_aeo) == [RANDOM_RULE]
        assert without_aeo.lane is Lane.RED
        assert with_aeo.lane is Lane.YELLOW  # red now takes draws below 0.025, yellow those below 0.075

    def test_lane_relief_does_not_lighten_a_random_selection(self):
        random = profile(
            random_selection=self.SELECTION, aeo=AeoPolicy(benefits={AeoProgramme.AEOS: (Benefit.LANE_RELIEF,)})
        )
        chosen = drawn(random, 0.0, 0.05)
        assert assessed(random, facts(item(), declaration_id=chosen, aeo=AeoProgramme.AEOS)).lane is Lane.RED

    @pytest.mark.parametrize(
        ("aeo", "factor"), [(None, Decimal(1)), (AeoProgramme.AEOC, Decimal("0.25"))], ids=["trader", "aeo"]
    )
    def test_observed_rates_are_within_five_sigma_of_the_configured_ones(self, aeo, factor):
        random = profile(
            random_selection=self.SELECTION,
            aeo=AeoPolicy(benefits={AeoProgramme.AEOC: (Benefit.FEWER_RANDOM_CHECKS,)}, random_rate_factor=factor),
        )
        engine = RiskEngine(random, DRAW)
        ids = declaration_ids(20_000)
        lanes = [engine.assess(facts(item(), declaration_id=id, aeo=aeo)).lane for id in ids]
        selection = self.SELECTION
        for lane, rate in ((Lane.RED, selection.red), (Lane.YELLOW, selection.yellow), (Lane.BLUE, selection.blue)):
            p = float(rate * factor)
            sigma = (len(ids) * p * (1 - p)) ** 0.5
            assert abs(lanes.count(lane) - len(ids) * p) < 5 * sigma, lane


class TestProfileValidation:
    def test_rule_without_a_condition_is_refused(self):
        with pytest.raises(ValidationError, match="R-ALL states no condition"):
            rule("R-ALL")

    def test_duplicate_rule_ids_are_refused(self):
        with pytest.raises(ValidationError, match="R-TWICE repeated"):
            profile(rule("R-TWICE", origin_countries=("NL",)), rule("R-TWICE", origin_countries=("KE",)))

    def test_refusing_rule_that_allows_relief_is_refused(self):
        with pytest.raises(ValidationError, match="set aeo_relief: false"):
            rule("R-IVORY", commodity_prefixes=("960110",), refuse=True)

    def test_refusing_rule_in_a_lane_other_than_red_is_refused(self):
        with pytest.raises(ValidationError, match="its lane is red"):
            rule("R-IVORY", Lane.GREEN, commodity_prefixes=("960110",), refuse=True, aeo_relief=False)

    def test_valuation_rule_without_bands_is_refused(self):
        with pytest.raises(ValidationError, match="no valuation_bands"):
            profile(rule("R-BAND", outside_valuation_band=True))

    @pytest.mark.parametrize(
        "bands",
        [
            pytest.param((ROSES_BAND, ROSES_BAND.model_copy(update={"high": Decimal(50)})), id="two-for-any-origin"),
            pytest.param(
                (
                    KENYAN_ROSES_BAND,
                    ValuationBand(hs6="060311", origin_countries=("CO", "KE"), low=Decimal(1), high=Decimal(2)),
                ),
                id="same-origin-twice",
            ),
        ],
    )
    def test_overlapping_valuation_bands_are_refused(self, bands):
        with pytest.raises(ValidationError, match="same HS6 code and origin"):
            profile(valuation_bands=bands)

    def test_bands_for_an_origin_and_for_any_other_origin_coexist(self):
        assert profile(valuation_bands=(ROSES_BAND, KENYAN_ROSES_BAND)).band_for(item(origin="KE")) == KENYAN_ROSES_BAND

    def test_band_whose_low_is_not_below_its_high_is_refused(self):
        with pytest.raises(ValidationError, match="low 5 must be below high 5"):
            ValuationBand(hs6="060311", low=Decimal(5), high=Decimal(5))

    def test_random_rates_adding_up_to_more_than_one_are_refused(self):
        with pytest.raises(ValidationError, match="more than 1"):
            RandomSelection(red=Decimal("0.5"), yellow=Decimal("0.3"), blue=Decimal("0.2001"))

    def test_random_rates_adding_up_to_one_are_allowed(self):
        assert RandomSelection(red=Decimal("0.5"), yellow=Decimal("0.3"), blue=Decimal("0.2")).lane_for(
            0.99, Decimal(1)
        )

    def test_shipped_profile_loads_and_uses_every_kind_of_rule(self, shipped):
        assert {kind for rule in shipped.rules for kind in rule.kinds} == set(CONDITION_KINDS)
        assert any(rule.refuse for rule in shipped.rules)
        assert not any(rule.aeo_relief for rule in shipped.rules if rule.refuse)


class TestShippedProfile:
    def test_example_roses_from_the_netherlands_go_green_without_hits(self, shipped_without_random_selection):
        assessment = assessed(shipped_without_random_selection, facts_from(declaration()))
        assert (assessment.lane, assessment.hits, assessment.refused) == (Lane.GREEN, (), False)

    @pytest.mark.parametrize(("documents", "lane"), [((), Lane.RED), (("C400",), Lane.GREEN)])
    def test_orchids_from_thailand_need_a_cites_permit(self, shipped_without_random_selection, documents, lane):
        cited = [document(f"CITES-{code}", code) for code in documents]
        orchids = declaration(goods_item(commodity_code=ORCHIDS, origin_country="TH", documents=cited))
        assert assessed(shipped_without_random_selection, facts_from(orchids)).lane is lane

    def test_goods_from_north_korea_are_refused(self, shipped_without_random_selection):
        assessment = assessed(
            shipped_without_random_selection, facts_from(declaration(goods_item(origin_country="KP")))
        )
        assert assessment.refused
        assert hit_ids(assessment) == ["R-PROHIBITED-ORIGIN-KP"]

    def test_cheap_t_shirts_from_china_hit_origin_and_valuation_rules(self, shipped_without_random_selection):
        t_shirts = goods_item(commodity_code="61091000", origin_country="CN", value="300.00", net_mass_kg="100")
        assessment = assessed(shipped_without_random_selection, facts_from(declaration(t_shirts)))
        assert hit_ids(assessment) == ["R-TEXTILES-ORIGIN", "R-VALUATION-BAND"]
        assert "outside 4.00-120.00 per kg for 610910" in assessment.hits[1].reason
