"""The single-window decision: every required agency's latest decision joined into one status."""

from collections.abc import Iterable
from dataclasses import dataclass

from services.contract.events import AgencyStanding, ClearanceStatus, Outcome, Reason


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
    status: ClearanceStatus
    agencies: tuple[AgencyStanding, ...]
    reasons: tuple[Reason, ...]


_CLEARS = {Outcome.RELEASED, Outcome.NOT_CONCERNED}


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

    if any(d.outcome is Outcome.REFUSED for d in answered):
        return Clearance(ClearanceStatus.REFUSED, standings, reasons_of(Outcome.REFUSED))
    if any(d.outcome is Outcome.HELD for d in answered):
        return Clearance(ClearanceStatus.HELD, standings, reasons_of(Outcome.HELD))
    waiting = [agency for agency in required if agency not in latest]
    if not waiting and all(d.outcome in _CLEARS for d in answered):
        return Clearance(ClearanceStatus.RELEASED, standings, ())
    pending = tuple(Reason(code="AGENCY_PENDING", text=f"waiting for {agency}", agency=agency) for agency in waiting)
    status = ClearanceStatus.UNDER_CONTROL if answered else ClearanceStatus.SUBMITTED
    return Clearance(status, standings, pending)
