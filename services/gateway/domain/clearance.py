"""The single-window decision: a state machine over every required agency's latest decision.

The state is the join of the latest decisions (`join`) until it reaches a final state (`FINAL`): after a
release or a cancellation, later decisions on that version are recorded but move nothing. An amendment
starts its new version at `submitted`."""

from collections.abc import Iterable
from dataclasses import dataclass

from services.contract.events import AgencyStanding, ClearanceState, ClearanceStatus, Outcome, Reason


@dataclass(frozen=True)
class AgencyDecision:
    """The part of an agency decision the join needs."""

    agency: str
    declaration_version: int
    sequence: int
    outcome: Outcome
    reasons: tuple[Reason, ...]


def supersedes(incoming: AgencyDecision, current: AgencyDecision | None, declaration_version: int) -> bool:
    """True when `incoming` should replace the agency's current decision; stale and future ones do not."""
    if incoming.declaration_version != declaration_version:
        return False
    if current is None or current.declaration_version < incoming.declaration_version:
        return True
    return incoming.sequence > current.sequence


def latest_decisions(decisions: Iterable[AgencyDecision], declaration_version: int) -> dict[str, AgencyDecision]:
    """Each agency's current decision, folding in arrival order; stale and duplicate decisions lose."""
    latest: dict[str, AgencyDecision] = {}
    for decision in decisions:
        if supersedes(decision, latest.get(decision.agency), declaration_version):
            latest[decision.agency] = decision
    return latest


@dataclass(frozen=True)
class Clearance:
    state: ClearanceState
    agencies: tuple[AgencyStanding, ...]
    reasons: tuple[Reason, ...]

    @property
    def status(self) -> ClearanceStatus:
        return self.state.status


FINAL = frozenset({ClearanceState.RELEASED, ClearanceState.CANCELLED})


def is_final(state: ClearanceState) -> bool:
    """True when no agency decision can move the version any more."""
    return state in FINAL


def join(required: list[str], latest: dict[str, AgencyDecision]) -> Clearance:
    """Released only when every required agency cleared; any refusal, then any hold, wins."""
    answered = [latest[agency] for agency in required if agency in latest]
    standings = tuple(
        AgencyStanding(
            agency=agency,
            outcome=latest[agency].outcome if agency in latest else None,
            sequence=latest[agency].sequence if agency in latest else None,
        )
        for agency in required
    )

    def reasons_of(outcome: Outcome) -> tuple[Reason, ...]:
        return tuple(
            Reason(code=reason.code, text=reason.text, agency=decision.agency)
            for decision in answered
            if decision.outcome is outcome
            for reason in decision.reasons
        )

    outcomes = {decision.outcome for decision in answered}
    if Outcome.REFUSED in outcomes:
        return Clearance(ClearanceState.REFUSED, standings, reasons_of(Outcome.REFUSED))
    if Outcome.HELD in outcomes:
        state = ClearanceState.PARTIALLY_HELD if Outcome.RELEASED in outcomes else ClearanceState.UNDER_CONTROL
        return Clearance(state, standings, reasons_of(Outcome.HELD))
    waiting = [agency for agency in required if agency not in latest]
    if not waiting:
        return Clearance(ClearanceState.RELEASED, standings, ())
    pending = tuple(Reason(code="AGENCY_PENDING", text=f"waiting for {agency}", agency=agency) for agency in waiting)
    state = ClearanceState.ACCEPTED if answered else ClearanceState.SUBMITTED
    return Clearance(state, standings, pending)


def advance(
    current: ClearanceState, required: list[str], decisions: Iterable[AgencyDecision], declaration_version: int
) -> Clearance | None:
    """The state every decision received so far leads to; None when `current` is final and nothing moves it."""
    if is_final(current):
        return None
    return join(required, latest_decisions(decisions, declaration_version))
