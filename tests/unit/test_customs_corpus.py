"""The shipped risk profile on a 10,000-declaration corpus: its lane mix, and what-if reports against direct assessment.

CORPUS_LANE_BANDS states the share of the corpus each placement gets under the shipped profile (random selection
included, with a fixed key). A profile change that moves a lane by more than a few points breaks this test: then
either the change is a mistake, or the bands (and the README that quotes them) must say the new mix.
"""

import json
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from services.contract.declaration import Declaration
from services.contract.events import Outcome
from services.contract.keyed_draw import KeyedDraw
from services.customs.adapters.rulebook_files import load_rulebook
from services.customs.domain.risk import RandomSelection
from services.customs.domain.risk_engine import RANDOM_RULE
from services.customs.domain.rulebook import Rulebook
from services.customs.domain.whatif import Placement, WhatIf, compare
from services.customs.settings import CustomsSettings
from tests.support.customs_corpus import COMMODITIES, CORPUS_DAY, CORPUS_SIZE, IVORY, corpus

CORPUS_KEY = b"corpus-test-key-0123456789abcdef"

# Percent of the corpus, (lowest, highest), under the shipped profile 2026.11-2. Observed when chosen:
# green 78.48, blue 3.85, yellow 13.80, red 3.48, refused 0.39, not assessed 0.
CORPUS_LANE_BANDS: dict[Placement, tuple[float, float]] = {
    Placement.GREEN: (75.0, 82.0),
    Placement.BLUE: (2.5, 5.5),
    Placement.YELLOW: (11.0, 17.0),
    Placement.RED: (2.0, 5.0),
    Placement.REFUSED: (0.1, 0.8),
    Placement.NOT_ASSESSED: (0.0, 0.0),
}

Corpus = list[tuple[str, Declaration, date]]


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return load_rulebook(CustomsSettings(), KeyedDraw(CORPUS_KEY))


@pytest.fixture(scope="module")
def declarations() -> Corpus:
    return [(declaration_id, declaration, CORPUS_DAY) for declaration_id, declaration in corpus()]


@pytest.fixture(scope="module")
def shipped_mix(rulebook: Rulebook, declarations: Corpus) -> WhatIf:
    return compare(rulebook, rulebook, declarations)


@pytest.fixture(scope="module")
def candidate(rulebook: Rulebook) -> Rulebook:
    """Differs in known ways: a lower value threshold, one rule fewer, no random selection, another version."""
    shipped = rulebook.profile
    rules = tuple(
        rule.model_copy(update={"min_item_value": Decimal(50_000)}) if rule.id == "R-HIGH-VALUE" else rule
        for rule in shipped.rules
        if rule.id != "R-TIMBER-DOCS"
    )
    return rulebook.with_profile(
        shipped.model_copy(
            update={"version": f"{shipped.version}-candidate", "rules": rules, "random_selection": RandomSelection()}
        )
    )


@pytest.fixture(scope="module")
def candidate_report(rulebook: Rulebook, candidate: Rulebook, declarations: Corpus) -> WhatIf:
    return compare(rulebook, candidate, declarations)


def placement_by_decision(rulebook: Rulebook, declaration_id: str, declaration: Declaration, on: date) -> Placement:
    """The placement as the service's own decision states it, independently of the what-if code."""
    decision = rulebook.decide(declaration_id, declaration, on=on)
    if decision.lane is None:
        return Placement.NOT_ASSESSED
    if decision.outcome is Outcome.REFUSED:
        return Placement.REFUSED
    return Placement(decision.lane.value)


class TestCorpus:
    def test_every_commodity_code_is_in_the_shipped_tariff(self, rulebook):
        for commodity in (*COMMODITIES, IVORY):
            assert rulebook.tariff.measure(commodity.code, CORPUS_DAY) is not None, commodity.code

    def test_corpus_hits_every_rule_of_the_shipped_profile(self, rulebook, declarations):
        hit = Counter(
            rule_id
            for declaration_id, declaration, on in declarations
            for rule_id in {h.rule_id for h in rulebook.assess_risk(declaration_id, declaration, on).hits}
        )
        assert {rule.id for rule in rulebook.profile.rules} | {RANDOM_RULE} == set(hit)

    def test_ids_are_26_characters_and_unique(self, declarations):
        ids = [declaration_id for declaration_id, _, _ in declarations]
        assert {len(declaration_id) for declaration_id in ids} == {26}
        assert len(set(ids)) == CORPUS_SIZE

    def test_corpus_is_the_same_on_every_generation(self, rulebook, declarations, shipped_mix):
        again = [(declaration_id, declaration, CORPUS_DAY) for declaration_id, declaration in corpus()]
        assert again[0][1].model_dump_json() == declarations[0][1].model_dump_json()
        assert again == declarations
        assert compare(rulebook, rulebook, again).current == shipped_mix.current

    def test_another_seed_gives_another_corpus(self):
        assert list(corpus(20, seed=1)) != list(corpus(20, seed=2))


class TestShippedProfileMix:
    def test_lane_mix_lies_within_the_stated_bands(self, shipped_mix):
        shares = {placement: 100 * count / CORPUS_SIZE for placement, count in shipped_mix.current.items()}
        outside = {
            placement: f"{share:.2f}% not in {CORPUS_LANE_BANDS[placement]}"
            for placement, share in shares.items()
            if not CORPUS_LANE_BANDS[placement][0] <= share <= CORPUS_LANE_BANDS[placement][1]
        }
        assert outside == {}

    def test_mix_totals_equal_the_corpus_size(self, shipped_mix):
        assert shipped_mix.total == CORPUS_SIZE
        assert sum(shipped_mix.current.values()) == sum(shipped_mix.candidate.values()) == CORPUS_SIZE


class TestWhatIf:
    def test_deltas_and_moves_equal_those_of_deciding_each_declaration_under_both(
        self, rulebook, candidate, declarations, candidate_report
    ):
        report = candidate_report

        before: Counter[Placement] = Counter()
        after: Counter[Placement] = Counter()
        moves: Counter[tuple[Placement, Placement]] = Counter()
        changed: list[str] = []
        for declaration_id, declaration, on in declarations:
            old = placement_by_decision(rulebook, declaration_id, declaration, on)
            new = placement_by_decision(candidate, declaration_id, declaration, on)
            before[old] += 1
            after[new] += 1
            if old is not new:
                moves[old, new] += 1
                changed.append(declaration_id)
        assert report.current == {placement: before[placement] for placement in Placement}
        assert report.candidate == {placement: after[placement] for placement in Placement}
        assert report.delta == {placement: after[placement] - before[placement] for placement in Placement}
        assert report.moves == dict(moves)
        assert report.changed == len(changed)
        assert report.changed_ids == tuple(changed[:100])
        assert report.total == sum(report.candidate.values()) == CORPUS_SIZE
        assert sum(report.delta.values()) == 0
        # The changes are the ones made: more yellow from the lower threshold, no random selection left.
        assert report.delta[Placement.YELLOW] > 0
        assert report.moves.keys() >= {(Placement.GREEN, Placement.YELLOW), (Placement.YELLOW, Placement.GREEN)}

    def test_identical_candidate_reports_no_change(self, rulebook, declarations):
        report = compare(rulebook, rulebook.with_profile(rulebook.profile), declarations)
        assert report.delta == dict.fromkeys(Placement, 0)
        assert report.moves == {}
        assert report.changed == 0
        assert report.changed_ids == ()

    def test_new_version_of_the_same_rules_moves_declarations_by_random_selection_alone(self, rulebook, declarations):
        renamed = rulebook.profile.model_copy(update={"version": f"{rulebook.profile.version}-renamed"})
        report = compare(rulebook, rulebook.with_profile(renamed), declarations)
        assert report.changed > 0
        assert report.changed_by_random_selection == report.changed

    def test_changed_ids_are_capped_but_counts_are_exact(self, rulebook, candidate, declarations, candidate_report):
        capped = compare(rulebook, candidate, declarations, listed=5)
        assert capped.changed_ids == candidate_report.changed_ids[:5]
        assert capped.changed == candidate_report.changed > len(candidate_report.changed_ids) == 100
        assert capped.moves == candidate_report.moves

    def test_declarations_that_cannot_be_assessed_are_counted_apart_in_both_mixes(
        self, rulebook, candidate, declarations
    ):
        (first_id, first, on), (second_id, second, _) = declarations[:2]
        unknown_code = first.model_copy(
            update={"goods_items": [first.goods_items[0].model_copy(update={"commodity_code": "99050000"})]}
        )
        item = second.goods_items[0]
        no_rate = second.model_copy(
            update={
                "goods_items": [item.model_copy(update={"value": item.value.model_copy(update={"currency": "AUD"})})]
            }
        )
        report = compare(rulebook, candidate, [(first_id, unknown_code, on), (second_id, no_rate, on)])
        assert report.current[Placement.NOT_ASSESSED] == report.candidate[Placement.NOT_ASSESSED] == 2
        assert report.changed == 0
        assert placement_by_decision(rulebook, first_id, unknown_code, on) is Placement.NOT_ASSESSED
        assert placement_by_decision(rulebook, second_id, no_rate, on) is Placement.NOT_ASSESSED

    def test_candidate_with_other_reference_data_is_refused(self, rulebook):
        other_key = Rulebook(
            rulebook.profile,
            rulebook.tariff,
            rulebook.exchange_rates,
            rulebook.trader_register,
            rulebook.watch_lists,
            KeyedDraw(b"another-key-0123456789abcdef"),
        )
        with pytest.raises(ValueError, match="draw"):
            compare(rulebook, other_key, [])

    def test_report_prints_as_a_table_and_as_json(self, rulebook, candidate, declarations):
        report = compare(rulebook, candidate, declarations[:500])
        printed = json.loads(json.dumps(report.as_dict()))
        assert printed["declarations"] == 500
        assert printed["delta"] == {str(placement): count for placement, count in report.delta.items()}
        assert sum(move["count"] for move in printed["moves"]) == report.changed
        table = report.as_table()
        assert f"{rulebook.profile.version} -> {rulebook.profile.version}-candidate, 500 declarations" in table
        assert all(str(placement) in table for placement in Placement)
