"""Properties of the risk engine over generated profiles, facts and declarations.

The compiled engine agrees with the plain reading of the profile, gives the same answer twice, and assesses any
valid declaration against the shipped reference data without raising. Rules and facts draw their codes, parties
and thresholds from small shared pools so that rules actually match.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from services.contract.declaration import Amount, Declaration, GoodsItem
from services.contract.keyed_draw import KeyedDraw
from services.contract.rules_file import load_rules
from services.customs.domain.exchange_rates import ExchangeRates
from services.customs.domain.facts import DeclarationFacts, ItemFacts, PartnerStanding, facts_of
from services.customs.domain.lanes import Lane
from services.customs.domain.risk import (
    AeoPolicy,
    Benefit,
    MutualRecognition,
    RandomSelection,
    RiskProfile,
    RiskRule,
    ValuationBand,
)
from services.customs.domain.risk_engine import RANDOM_RULE, Assessment, RiskEngine, assess_naively
from services.customs.domain.rulebook import Rulebook
from services.customs.domain.tariff import Tariff
from services.customs.domain.traders import AeoProgramme, TraderRegister
from services.customs.domain.watch_lists import WatchLists
from tests.unit.builders import ROOT, declaration, document, goods_item

DATA = ROOT / "services" / "customs" / "data"
DRAW = KeyedDraw(b"property-test-selection-key")
PROPERTIES = settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

PREFIXES = ["06", "0602", "0603", "060311", "06031100", "0603110010", "44", "4403", "4407", "6109", "610910"]
COMMODITY_CODES = ["06031100", "0603110010", "06031200", "06029050", "060311", "44031100", "44071091", "61091000"]
ORIGINS = ["NL", "KE", "CN", "TH"]
TRADERS = ["GB111111111000", "GB222222222000", "GB333333333000"]
WATCH_LIST_NAMES = ["sanctions", "undervaluation"]
DOCUMENT_CODES = ["C400", "C401", "N851"]
BAND_CODES = ["060311", "440311", "610910"]
UNIT_VALUES = [Decimal(per_kg) for per_kg in ("0.4", "0.5", "1", "1.5", "2", "4", "6", "8", "10", "20", "30", "40")]
THRESHOLDS = [Decimal(0), Decimal(100), Decimal("999.99"), Decimal(1000), Decimal(5000)]
PARTNERS = [PartnerStanding("US", "C-TPAT"), PartnerStanding("CA", "PIP"), PartnerStanding("US", "PIP")]

amounts = st.one_of(
    st.sampled_from(THRESHOLDS),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10_000), places=2),
)


def subsets(pool: list[str], *, min_size: int = 0) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(pool), min_size=min_size, max_size=3, unique=True).map(tuple)


CONDITIONS: dict[str, st.SearchStrategy[Any]] = {
    "commodity_prefixes": subsets(PREFIXES, min_size=1),
    "origin_countries": subsets(ORIGINS, min_size=1),
    "traders": subsets(TRADERS, min_size=1),
    "min_item_value": st.sampled_from(THRESHOLDS),
    "min_net_mass_kg": st.sampled_from(THRESHOLDS),
    "min_gross_mass_kg": st.sampled_from(THRESHOLDS),
    "watch_list": st.sampled_from(WATCH_LIST_NAMES),
    "without_documents": subsets(DOCUMENT_CODES, min_size=1),
    "outside_valuation_band": st.just(True),
}


@st.composite
def rules(draw: st.DrawFn, rule_id: str) -> RiskRule:
    """A rule stating one to three conditions of any kind."""
    stated = draw(st.lists(st.sampled_from(sorted(CONDITIONS)), min_size=1, max_size=3, unique=True))
    refuse = draw(st.sampled_from([False, False, False, True]))
    return RiskRule(
        id=rule_id,
        lane=Lane.RED if refuse else draw(st.sampled_from(Lane)),
        refuse=refuse,
        aeo_relief=False if refuse else draw(st.booleans()),
        reason=f"{rule_id} applies",
        **{condition: draw(CONDITIONS[condition]) for condition in stated},
    )


@st.composite
def valuation_bands(draw: st.DrawFn) -> tuple[ValuationBand, ...]:
    """Per HS6 code, a band for any origin and a band for some origins, each maybe; one band at least."""
    bands: list[ValuationBand] = []
    for hs6 in BAND_CODES:
        low = draw(st.sampled_from([Decimal("0.5"), Decimal(2), Decimal(10)]))
        if draw(st.booleans()) or not bands:
            bands.append(ValuationBand(hs6=hs6, low=low, high=low * 4))
        if origins := draw(subsets(ORIGINS)):
            bands.append(ValuationBand(hs6=hs6, origin_countries=origins, low=low * 2, high=low * 3))
    return tuple(bands)


rates = st.decimals(min_value=0, max_value=Decimal("0.3"), places=3)
benefit_sets = st.lists(st.sampled_from(Benefit), max_size=3, unique=True).map(tuple)


@st.composite
def arrangements(draw: st.DrawFn, administration: str, programme: str) -> MutualRecognition:
    return MutualRecognition(
        arrangement=f"UK-{administration} AEO MRA",
        administration=administration,
        programmes=(programme,),
        benefits=draw(benefit_sets.filter(bool)),
    )


@st.composite
def profiles(draw: st.DrawFn) -> RiskProfile:
    count = draw(st.integers(min_value=0, max_value=8))
    return RiskProfile(
        version=draw(st.sampled_from(["2026.1", "2026.2"])),
        effective_from=date(2026, 1, 1),
        default_lane=draw(st.sampled_from([Lane.GREEN, Lane.GREEN, Lane.BLUE, Lane.YELLOW])),
        random_selection=RandomSelection(red=draw(rates), yellow=draw(rates), blue=draw(rates)),
        aeo=AeoPolicy(
            benefits=draw(st.dictionaries(st.sampled_from(AeoProgramme), benefit_sets)),
            random_rate_factor=draw(st.decimals(min_value=0, max_value=1, places=2)),
        ),
        mutual_recognition=(draw(arrangements("US", "C-TPAT")), draw(arrangements("CA", "PIP"))),
        valuation_bands=draw(valuation_bands()),
        rules=tuple(draw(rules(f"R-{number}")) for number in range(count)),
    )


masses = st.none() | amounts


@st.composite
def items(draw: st.DrawFn, sequence: int) -> ItemFacts:
    """A goods item, half the time valued per kilogram at or near the bounds of the generated bands."""
    net_mass = draw(masses)
    per_kg = draw(st.none() | st.sampled_from(UNIT_VALUES))
    return ItemFacts(
        sequence=sequence,
        commodity_code=draw(st.sampled_from(COMMODITY_CODES)),
        origin=draw(st.sampled_from([*ORIGINS, "US"])),
        value=draw(amounts) if net_mass is None or per_kg is None else net_mass * per_kg,
        net_mass_kg=net_mass,
        gross_mass_kg=draw(masses),
        documents=frozenset(draw(subsets(DOCUMENT_CODES))),
    )


@st.composite
def declaration_facts(draw: st.DrawFn) -> DeclarationFacts:
    sequences = draw(st.lists(st.integers(min_value=1, max_value=999), min_size=1, max_size=4, unique=True))
    return DeclarationFacts(
        declaration_id=draw(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)),
        parties=frozenset(draw(subsets([*TRADERS, "GB999999999000"]))),
        watch_lists=frozenset(draw(subsets([*WATCH_LIST_NAMES, "other"]))),
        aeo=draw(st.none() | st.sampled_from(AeoProgramme)),
        partner=draw(st.none() | st.sampled_from(PARTNERS)),
        items=tuple(draw(items(sequence)) for sequence in sequences),
    )


def rule_hits(assessment: Assessment) -> list[str]:
    return [hit.rule_id for hit in assessment.hits if hit.rule_id != RANDOM_RULE]


@PROPERTIES
@given(profiles(), declaration_facts())
def test_compiled_engine_agrees_with_the_plain_reading_of_the_profile(profile, facts):
    assessment = RiskEngine(profile, DRAW).assess(facts)
    event("some rule hits" if rule_hits(assessment) else "no rule hits")
    assert assessment == assess_naively(profile, DRAW, facts)


def test_generated_rules_of_every_kind_do_hit():
    """The agreement above means little unless generated rules match: check so on a fixed sample."""
    outcomes: list[bool] = []
    kinds_hit: set[str] = set()

    @settings(PROPERTIES, max_examples=200)
    @seed(20261120)
    @given(profiles(), declaration_facts())
    def sample(profile, facts):
        assessment = assess_naively(profile, DRAW, facts)
        by_id = {rule.id: rule for rule in profile.rules}
        outcomes.append(bool(rule_hits(assessment)))
        kinds_hit.update(kind for rule_id in rule_hits(assessment) for kind in by_id[rule_id].kinds)

    sample()
    assert sum(outcomes) >= len(outcomes) / 3
    assert kinds_hit == {"commodity", "origin", "trader", "value", "weight", "watch_list", "document", "valuation"}


@PROPERTIES
@given(profiles(), declaration_facts())
def test_assessing_the_same_facts_twice_gives_the_same_assessment(profile, facts):
    engine = RiskEngine(profile, DRAW)
    assert engine.assess(facts) == engine.assess(facts) == RiskEngine(profile, DRAW).assess(facts)


def shipped_rulebook() -> Rulebook:
    return Rulebook(
        profile=load_rules(DATA / "risk-profile.yaml", RiskProfile),
        tariff=load_rules(DATA / "tariff.yaml", Tariff),
        exchange_rates=load_rules(DATA / "exchange-rates.yaml", ExchangeRates),
        trader_register=load_rules(DATA / "trader-register.yaml", TraderRegister),
        watch_lists=load_rules(DATA / "watch-lists.yaml", WatchLists),
        draw=DRAW,
    )


SHIPPED = shipped_rulebook()
SHIPPED_CURRENCIES = sorted({currency for period in SHIPPED.exchange_rates.periods for currency in period.rates})
SHIPPED_TRADERS = [trader.id for trader in SHIPPED.trader_register.traders]
WATCHED = [entry for watch_list in SHIPPED.watch_lists.lists for entry in watch_list.trader_ids]
WATCHED_NAMES = [name for watch_list in SHIPPED.watch_lists.lists for name in watch_list.names]
PARTNER_IDS = [entry.partner_id for entry in SHIPPED.trader_register.partner_certified]
SHIPPED_CODES = [
    "06029050",
    "0602905010",
    "06031100",
    "01062000",
    "44031100",
    "44071091",
    "61091000",
    "96011000",
    "08044000",
    "07099310",
]

# The contract's decimals have at most 18 digits, 6 after the point; a net mass keeps one digit spare so that
# adding the packaging to it still gives a valid gross mass.
positive = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("999999999999.999999"), places=6)
masses_kg = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("99999999999.999999"), places=6)
commodity_codes = st.sampled_from(SHIPPED_CODES) | st.from_regex(r"[0-9]{6}([0-9]{2}){0,2}", fullmatch=True)
national_ids = st.sampled_from([*SHIPPED_TRADERS, *WATCHED, "GB123123123000"])


@st.composite
def parties(draw: st.DrawFn) -> dict[str, Any]:
    exporter = draw(
        st.sampled_from(PARTNER_IDS).map(lambda id: {"id": id})
        | st.sampled_from([*WATCHED_NAMES, "Bloemen Export BV", "  blocked   TRADING company "]).map(
            lambda name: {"name": name, "address": {"country_code": "NL"}}
        )
    )
    return {"declarant": {"id": draw(national_ids)}, "importer": {"id": draw(national_ids)}, "exporter": exporter}


@st.composite
def shipped_goods_items(draw: st.DrawFn, sequence: int) -> GoodsItem:
    code = draw(commodity_codes)
    net_mass = draw(st.none() | masses_kg)
    packaging = draw(st.none() | st.decimals(min_value=0, max_value=1000, places=6))
    gross_mass = None if net_mass is None or packaging is None else net_mass + packaging
    cited = draw(subsets(["C400", "N851"]))
    item = goods_item(
        sequence,
        commodity_code=code,
        taric_code=draw(st.sampled_from(["00", "10"])) if len(code) == 8 and draw(st.booleans()) else None,
        origin_country=draw(st.sampled_from(["NL", "TH", "VN", "CN", "BD", "KP", "KE", "US"])),
        net_mass_kg=net_mass,
        gross_mass_kg=gross_mass,
        quantity={"value": draw(positive), "unit": draw(st.sampled_from(["KGM", "NAR"]))},
        documents=[document(f"DOC-{cited_code}", cited_code) for cited_code in cited],
    )
    currency = draw(st.sampled_from([*SHIPPED_CURRENCIES, SHIPPED.exchange_rates.currency]))
    return item.model_copy(update={"value": Amount(value=draw(positive), currency=currency)})


@st.composite
def declarations(draw: st.DrawFn) -> Declaration:
    sequences = draw(st.lists(st.integers(min_value=1, max_value=999), min_size=1, max_size=3, unique=True))
    items = [draw(shipped_goods_items(sequence)) for sequence in sequences]
    header_documents = [document("CITES-1", "C400")] if draw(st.booleans()) else []
    return declaration(*items, documents=header_documents, **draw(parties()))


# Every day from the first period of the shipped exchange rates on (the last period has no end).
days = st.dates(min_value=date(2026, 10, 1), max_value=date(2026, 10, 1) + timedelta(days=730))


@PROPERTIES
@given(declarations(), days, st.uuids())
def test_any_valid_declaration_is_assessed_against_the_shipped_rulebook(declaration, day, declaration_id):
    assessment = SHIPPED.assess_risk(str(declaration_id), declaration, day)
    facts = facts_of(
        str(declaration_id),
        declaration,
        rates=SHIPPED.exchange_rates,
        register=SHIPPED.trader_register,
        watch_lists=SHIPPED.watch_lists,
        on=day,
    )
    assert assessment == assess_naively(SHIPPED.profile, DRAW, facts)
    event(f"refused, lane {assessment.lane}" if assessment.refused else f"lane {assessment.lane}")
    sequences = {item.sequence for item in declaration.goods_items}
    assert {hit.goods_item for hit in assessment.hits} <= {*sequences, None}
    assert assessment.lane.severity >= SHIPPED.profile.default_lane.severity
    assert assessment.refused is any(hit.refuse for hit in assessment.hits)
