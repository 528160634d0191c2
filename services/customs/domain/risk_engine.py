"""Evaluating a risk profile against a declaration's facts (pure): the lane, the reasons, the benefits.

`RiskEngine` compiles a profile into indexes (by code prefix, origin, party, watch list, thresholds) so that
a goods item meets only the rules that can match it; `assess_naively` tries every rule on every item. Both
share everything but the search for hits, and the tests hold them to the same answers.
"""

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.contract.keyed_draw import KeyedDraw
from services.customs.domain.facts import DeclarationFacts, ItemFacts
from services.customs.domain.lanes import Lane, most_severe
from services.customs.domain.risk import Benefit, RiskProfile, RiskRule, ValuationBand

RANDOM_RULE = "RANDOM"


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: str
    lane: Lane
    reason: str
    goods_item: int | None
    """None for a hit on the whole declaration (random selection)."""
    relieved_from: Lane | None = None
    """The rule's own lane when AEO or mutual recognition relief lowered it."""
    refuse: bool = False


@dataclass(frozen=True)
class Assessment:
    profile_version: str
    lane: Lane
    refused: bool
    hits: tuple[Hit, ...]
    benefits: frozenset[Benefit]

    @property
    def priority(self) -> bool:
        return Benefit.PRIORITY in self.benefits


Finder = Callable[[DeclarationFacts, frozenset[Benefit]], list[Hit]]


def assess_naively(profile: RiskProfile, draw: KeyedDraw, facts: DeclarationFacts) -> Assessment:
    """Every rule against every item, in profile order: the reference the compiled engine must agree with."""

    def find(declaration: DeclarationFacts, benefits: frozenset[Benefit]) -> list[Hit]:
        hits = []
        for item in declaration.items:
            band = profile.band_for(item)  # once per item: it scans every band of the profile
            hits += [
                _hit(rule, item, band, benefits) for rule in profile.rules if rule.matches(item, declaration, band)
            ]
        return hits

    return _assess(profile, draw, facts, find)


class RiskEngine:
    """A profile compiled for speed: each rule is indexed under its most selective condition."""

    def __init__(self, profile: RiskProfile, draw: KeyedDraw) -> None:
        self.profile = profile
        self._draw = draw
        self._bands = _BandIndex(profile.valuation_bands)
        self._by_prefix: dict[str, list[_Compiled]] = {}
        self._by_origin: dict[str, list[_Compiled]] = {}
        self._by_party: dict[str, list[_Compiled]] = {}
        self._by_watch_list: dict[str, list[_Compiled]] = {}
        by_value: list[tuple[Decimal, _Compiled]] = []
        by_net_mass: list[tuple[Decimal, _Compiled]] = []
        by_gross_mass: list[tuple[Decimal, _Compiled]] = []
        self._always: list[_Compiled] = []
        self._outside_band: list[_Compiled] = []
        for position, rule in enumerate(profile.rules):
            indexed = _indexed_condition(rule)
            compiled = _Compiled(position, rule, _checks(rule, self._bands, indexed))
            if indexed == "commodity":
                for prefix in _shortest_prefixes(rule.commodity_prefixes):
                    self._by_prefix.setdefault(prefix, []).append(compiled)
            elif indexed == "origin":
                for origin in set(rule.origin_countries):
                    self._by_origin.setdefault(origin, []).append(compiled)
            elif indexed == "trader":
                for trader in set(rule.traders):
                    self._by_party.setdefault(trader, []).append(compiled)
            elif indexed == "watch_list" and rule.watch_list is not None:
                self._by_watch_list.setdefault(rule.watch_list, []).append(compiled)
            elif indexed == "value" and rule.min_item_value is not None:
                by_value.append((rule.min_item_value, compiled))
            elif indexed == "net_mass" and rule.min_net_mass_kg is not None:
                by_net_mass.append((rule.min_net_mass_kg, compiled))
            elif indexed == "gross_mass" and rule.min_gross_mass_kg is not None:
                by_gross_mass.append((rule.min_gross_mass_kg, compiled))
            elif indexed == "valuation":
                self._outside_band.append(compiled)
            else:
                self._always.append(compiled)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})
        self._by_value = _Thresholds(by_value)
        self._by_net_mass = _Thresholds(by_net_mass)
        self._by_gross_mass = _Thresholds(by_gross_mass)

    def assess(self, facts: DeclarationFacts) -> Assessment:
        return _assess(self.profile, self._draw, facts, self._find)

    def _find(self, declaration: DeclarationFacts, benefits: frozenset[Benefit]) -> list[Hit]:
        for_declaration = [
            *(c for party in declaration.parties for c in self._by_party.get(party, ())),
            *(c for name in declaration.watch_lists for c in self._by_watch_list.get(name, ())),
            *self._always,
        ]
        hits = []
        for item in declaration.items:
            code = item.commodity_code
            band = self._bands.get(item)
            candidates = [c for length in self._prefix_lengths for c in self._by_prefix.get(code[:length], ())]
            candidates += self._by_origin.get(item.origin, ())
            candidates += for_declaration
            candidates += self._by_value.below(item.value)
            candidates += self._by_net_mass.below(item.net_mass_kg)
            candidates += self._by_gross_mass.below(item.gross_mass_kg)
            if self._outside_band and _outside(band, item):
                candidates += self._outside_band
            matched = {}
            for compiled in candidates:
                for check in compiled.checks:
                    if not check(item, declaration):
                        break
                else:
                    matched[compiled.position] = compiled
            if matched:
                hits += [_hit(matched[position].rule, item, band, benefits) for position in sorted(matched)]
        return hits


def _assess(profile: RiskProfile, draw: KeyedDraw, facts: DeclarationFacts, find: Finder) -> Assessment:
    benefits = profile.benefits_of(facts)
    hits = find(facts, benefits)
    factor = profile.aeo.random_rate_factor if Benefit.FEWER_RANDOM_CHECKS in benefits else Decimal(1)
    chosen = profile.random_selection.lane_for(draw(profile.version, facts.declaration_id), factor)
    if chosen is not None:
        hits.append(Hit(RANDOM_RULE, chosen, f"chosen at random for a {chosen} lane check", None))
    return Assessment(
        profile_version=profile.version,
        lane=most_severe([profile.default_lane, *(hit.lane for hit in hits)]),
        refused=any(hit.refuse for hit in hits),
        hits=tuple(hits),
        benefits=benefits,
    )


def _hit(rule: RiskRule, item: ItemFacts, band: ValuationBand | None, benefits: frozenset[Benefit]) -> Hit:
    reason = rule.reason
    if rule.outside_valuation_band and band is not None and item.unit_value is not None:
        reason = f"{reason}: {item.unit_value:.2f} per kg, outside {band.describe()}"
    relieved = rule.aeo_relief and Benefit.LANE_RELIEF in benefits and rule.lane.relieved() is not rule.lane
    return Hit(
        rule_id=rule.id,
        lane=rule.lane.relieved() if relieved else rule.lane,
        reason=reason,
        goods_item=item.sequence,
        relieved_from=rule.lane if relieved else None,
        refuse=rule.refuse,
    )


Check = Callable[[ItemFacts, DeclarationFacts], bool]


@dataclass(frozen=True, slots=True)
class _Compiled:
    position: int
    rule: RiskRule
    checks: tuple[Check, ...]


class _BandIndex:
    def __init__(self, bands: Iterable[ValuationBand]) -> None:
        self._bands: dict[tuple[str, str], ValuationBand] = {}
        for band in bands:
            for origin in band.origin_countries or ("",):
                self._bands[band.hs6, origin] = band

    def get(self, item: ItemFacts) -> ValuationBand | None:
        hs6 = item.commodity_code[:6]
        return self._bands.get((hs6, item.origin)) or self._bands.get((hs6, ""))


class _Thresholds:
    """Rules keyed by a minimum: those whose minimum a value exceeds are a prefix of the sorted list."""

    def __init__(self, rules: list[tuple[Decimal, _Compiled]]) -> None:
        rules.sort(key=lambda pair: pair[0])
        self._minimums = [minimum for minimum, _ in rules]
        self._rules = [compiled for _, compiled in rules]

    def below(self, value: Decimal | None) -> list[_Compiled]:
        if value is None or not self._rules:
            return []
        return self._rules[: bisect_left(self._minimums, value)]


def _shortest_prefixes(prefixes: Iterable[str]) -> set[str]:
    """Drop prefixes that extend another of the same rule, so that one code finds the rule once."""
    ordered = sorted(set(prefixes), key=len)
    kept: list[str] = []
    for prefix in ordered:
        if not prefix.startswith(tuple(kept)):
            kept.append(prefix)
    return set(kept)


def _indexed_condition(rule: RiskRule) -> str:
    """The condition a rule is indexed under: the first it states of commodity, origin, trader, watch list, value,
    net mass, gross mass and valuation band, else "always" (a rule on documents alone)."""
    stated = (
        ("commodity", bool(rule.commodity_prefixes)),
        ("origin", bool(rule.origin_countries)),
        ("trader", bool(rule.traders)),
        ("watch_list", rule.watch_list is not None),
        ("value", rule.min_item_value is not None),
        ("net_mass", rule.min_net_mass_kg is not None),
        ("gross_mass", rule.min_gross_mass_kg is not None),
        ("valuation", rule.outside_valuation_band),
    )
    return next((condition for condition, present in stated if present), "always")


def _outside(band: ValuationBand | None, item: ItemFacts) -> bool:
    unit_value = item.unit_value
    return band is not None and unit_value is not None and band.outside(unit_value)


def _checks(rule: RiskRule, bands: _BandIndex, indexed: str) -> tuple[Check, ...]:
    """One predicate per stated condition, on sets and plain values prepared once.

    The condition the rule is indexed under has no predicate: the index only offers the rule to goods items that
    meet it (a code starting with its prefix, a value above its minimum...).
    """
    checks: list[Check] = []
    if rule.commodity_prefixes and indexed != "commodity":
        prefixes = tuple(rule.commodity_prefixes)
        checks.append(lambda item, _: item.commodity_code.startswith(prefixes))
    if rule.origin_countries and indexed != "origin":
        origins = frozenset(rule.origin_countries)
        checks.append(lambda item, _: item.origin in origins)
    if rule.traders and indexed != "trader":
        traders = frozenset(rule.traders)
        checks.append(lambda _, declaration: not traders.isdisjoint(declaration.parties))
    if (value := rule.min_item_value) is not None and indexed != "value":
        checks.append(lambda item, _: item.value > value)
    if (net := rule.min_net_mass_kg) is not None and indexed != "net_mass":
        checks.append(lambda item, _: item.net_mass_kg is not None and item.net_mass_kg > net)
    if (gross := rule.min_gross_mass_kg) is not None and indexed != "gross_mass":
        checks.append(lambda item, _: item.gross_mass_kg is not None and item.gross_mass_kg > gross)
    if (name := rule.watch_list) is not None and indexed != "watch_list":
        checks.append(lambda _, declaration: name in declaration.watch_lists)
    if rule.without_documents:
        required = frozenset(rule.without_documents)
        checks.append(lambda item, _: required.isdisjoint(item.documents))
    if rule.outside_valuation_band and indexed != "valuation":
        checks.append(lambda item, _: _outside(bands.get(item), item))
    return tuple(checks)
