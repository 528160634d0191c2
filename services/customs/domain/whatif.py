"""What-if: how a candidate risk profile would have laned the declarations customs already assessed (pure).

Both profiles see the same facts (tariff, exchange rates, trader register, watch lists and random selection
key), so every difference in the report comes from the profile. Nothing is published or stored.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from services.contract.declaration import Declaration
from services.customs.domain.exchange_rates import MissingExchangeRate
from services.customs.domain.facts import DeclarationFacts, facts_of
from services.customs.domain.lanes import Lane, most_severe
from services.customs.domain.risk_engine import RANDOM_RULE, Assessment, RiskEngine
from services.customs.domain.rulebook import Rulebook
from services.customs.domain.tariff import UnknownCommodityCode

LISTED_IDS = 100


class Placement(StrEnum):
    """Where a declaration ends up: a lane, refused outright, or not assessed (unknown code, no exchange rate)."""

    GREEN = Lane.GREEN.value
    BLUE = Lane.BLUE.value
    YELLOW = Lane.YELLOW.value
    RED = Lane.RED.value
    REFUSED = "refused"
    NOT_ASSESSED = "not_assessed"

    @classmethod
    def of(cls, lane: Lane, *, refused: bool) -> "Placement":
        return cls.REFUSED if refused else cls(lane.value)


Mix = dict[Placement, int]
"""How many declarations each placement got; every placement is a key, with zero when none got it."""


@dataclass(frozen=True)
class WhatIf:
    """The lane mix under the current and the candidate profile, and the declarations that would move."""

    current_version: str
    candidate_version: str
    current: Mix
    candidate: Mix
    moves: dict[tuple[Placement, Placement], int]
    """(from, to): how many declarations would move so; only pairs that differ, only counts above zero."""
    changed: int
    """Declarations whose placement differs; exact, unlike `changed_ids`."""
    changed_ids: tuple[str, ...]
    """The first changed declarations, in the order they were compared, up to the limit given."""
    changed_by_random_selection: int
    """Changed declarations whose rule hits place them alike under both profiles: only random selection differs
    (it draws anew when the profile version changes)."""

    @property
    def total(self) -> int:
        return sum(self.current.values())

    @property
    def delta(self) -> Mix:
        return {placement: self.candidate[placement] - self.current[placement] for placement in Placement}

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types, for `--json`."""
        return {
            "current_profile": self.current_version,
            "candidate_profile": self.candidate_version,
            "declarations": self.total,
            "current": {str(placement): count for placement, count in self.current.items()},
            "candidate": {str(placement): count for placement, count in self.candidate.items()},
            "delta": {str(placement): count for placement, count in self.delta.items()},
            "moves": [{"from": str(old), "to": str(new), "count": count} for (old, new), count in self.moves.items()],
            "changed": self.changed,
            "changed_by_random_selection": self.changed_by_random_selection,
            "changed_ids": list(self.changed_ids),
        }

    def as_table(self) -> str:
        """A plain text table for an operator's terminal."""
        total = self.total or 1
        lines = [
            f"risk profile {self.current_version} -> {self.candidate_version}, {self.total} declarations",
            "",
            f"{'placement':<14}{'current':>9}{'%':>8}{'candidate':>11}{'%':>8}{'delta':>9}",
        ]
        delta = self.delta
        for placement in Placement:
            current, candidate = self.current[placement], self.candidate[placement]
            lines.append(
                f"{placement:<14}{current:>9}{100 * current / total:>8.2f}"
                f"{candidate:>11}{100 * candidate / total:>8.2f}{delta[placement]:>+9}"
            )
        lines += [
            "",
            f"{self.changed} declarations change placement "
            f"({self.changed_by_random_selection} by random selection alone)",
        ]
        for (old, new), count in self.moves.items():
            lines.append(f"  {old:>12} -> {new:<12}{count:>9}")
        if self.changed_ids:
            shown = len(self.changed_ids)
            lines += ["", f"first {shown} changed:" if shown < self.changed else "changed:"]
            lines += [f"  {declaration_id}" for declaration_id in self.changed_ids]
        return "\n".join(lines) + "\n"


class Comparison:
    """Compares two rulebooks one declaration at a time, so that a caller can feed it page by page."""

    def __init__(self, current: Rulebook, candidate: Rulebook, *, listed: int = LISTED_IDS) -> None:
        shared = ("tariff", "exchange_rates", "trader_register", "watch_lists", "draw")
        differing = [name for name in shared if getattr(candidate, name) is not getattr(current, name)]
        if differing:
            raise ValueError(
                f"the candidate rulebook has its own {', '.join(differing)}: a what-if compares risk profiles "
                "alone, so build the candidate with Rulebook.with_profile"
            )
        self._current = current
        self._candidate = candidate
        self._listed = listed
        self._current_mix: Counter[Placement] = Counter()
        self._candidate_mix: Counter[Placement] = Counter()
        self._moves: Counter[tuple[Placement, Placement]] = Counter()
        self._changed_ids: list[str] = []
        self._by_random_selection = 0

    def add(self, declaration_id: str, declaration: Declaration, on: date) -> None:
        try:
            facts = self._facts(declaration_id, declaration, on)
        except (UnknownCommodityCode, MissingExchangeRate):
            self._current_mix[Placement.NOT_ASSESSED] += 1
            self._candidate_mix[Placement.NOT_ASSESSED] += 1
            return
        current = self._current.engine.assess(facts)
        candidate = self._candidate.engine.assess(facts)
        old = Placement.of(current.lane, refused=current.refused)
        new = Placement.of(candidate.lane, refused=candidate.refused)
        self._current_mix[old] += 1
        self._candidate_mix[new] += 1
        if old is new:
            return
        self._moves[old, new] += 1
        if len(self._changed_ids) < self._listed:
            self._changed_ids.append(declaration_id)
        if _by_rules(self._current.engine, current) is _by_rules(self._candidate.engine, candidate):
            self._by_random_selection += 1

    def result(self) -> WhatIf:
        return WhatIf(
            current_version=self._current.profile.version,
            candidate_version=self._candidate.profile.version,
            current={placement: self._current_mix[placement] for placement in Placement},
            candidate={placement: self._candidate_mix[placement] for placement in Placement},
            moves={
                (old, new): self._moves[old, new] for old in Placement for new in Placement if self._moves[old, new] > 0
            },
            changed=self._moves.total(),
            changed_ids=tuple(self._changed_ids),
            changed_by_random_selection=self._by_random_selection,
        )

    def _facts(self, declaration_id: str, declaration: Declaration, on: date) -> DeclarationFacts:
        """The facts both profiles judge; raises what Rulebook.decide reports as not assessable."""
        tariff = self._current.tariff
        for item in declaration.goods_items:
            if tariff.measure(item.full_commodity_code, on) is None:
                raise UnknownCommodityCode(item.sequence, item.full_commodity_code, on)
        return facts_of(
            declaration_id,
            declaration,
            rates=self._current.exchange_rates,
            register=self._current.trader_register,
            watch_lists=self._current.watch_lists,
            on=on,
        )


def compare(
    current: Rulebook,
    candidate: Rulebook,
    declarations: Iterable[tuple[str, Declaration, date]],
    *,
    listed: int = LISTED_IDS,
) -> WhatIf:
    """Assess every (declaration id, declaration, day) under both rulebooks; `candidate` is
    `current.with_profile(...)`. Counts are exact; at most `listed` changed ids are kept."""
    comparison = Comparison(current, candidate, listed=listed)
    for declaration_id, declaration, on in declarations:
        comparison.add(declaration_id, declaration, on)
    return comparison.result()


def _by_rules(engine: RiskEngine, assessment: Assessment) -> Placement:
    """The placement the rule hits alone give, leaving random selection out."""
    hits = [hit for hit in assessment.hits if hit.rule_id != RANDOM_RULE]
    lane = most_severe([engine.profile.default_lane, *(hit.lane for hit in hits)])
    return Placement.of(lane, refused=any(hit.refuse for hit in hits))
