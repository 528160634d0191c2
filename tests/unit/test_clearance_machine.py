"""The single-window state machine over every order of agency decisions, with duplicates and stale versions."""

from hypothesis import given
from hypothesis import strategies as st

from services.contract.events import ClearanceState, Outcome
from services.gateway.domain.clearance import AgencyDecision, advance, join
from tests.unit.builders import agency_decision

AGENCIES = ["customs", "phyto", "wildlife"]
VERSION = 2  # decisions on version 1 are stale
CLEARING = {Outcome.RELEASED, Outcome.NOT_CONCERNED}
NOT_CLEARING = [Outcome.HELD, Outcome.REFUSED]


def run(required: list[str], arrivals: list[AgencyDecision]) -> list[ClearanceState]:
    """The states the gateway moves through as the decisions arrive one by one, as it records them."""
    state, received, states = ClearanceState.SUBMITTED, [], []
    for decision in arrivals:
        received.append(decision)
        clearance = advance(state, required, received, VERSION)
        if clearance is not None and clearance.state is not state:
            state = clearance.state
            states.append(state)
    return states


@st.composite
def histories(draw: st.DrawFn, *, clearing_only_last: bool) -> tuple[list[str], list[AgencyDecision]]:
    """The required agencies and each one's decisions (sequence 1, 2, ...) on the current version."""
    required = AGENCIES[: draw(st.integers(1, len(AGENCIES)))]
    decisions = []
    for agency in required:
        count = draw(st.integers(1, 4))
        for sequence in range(1, count + 1):
            last = sequence == count
            choices = list(Outcome) if last or not clearing_only_last else NOT_CLEARING
            outcome = draw(st.sampled_from(choices))
            decisions.append(agency_decision(agency, outcome, sequence=sequence, declaration_version=VERSION))
    return required, decisions


def stale(agency: str, outcome: Outcome, sequence: int) -> AgencyDecision:
    return agency_decision(agency, outcome, sequence=sequence, declaration_version=VERSION - 1)


@st.composite
def with_noise(draw: st.DrawFn, arrivals: list[AgencyDecision]) -> list[AgencyDecision]:
    """The same arrivals with redeliveries (a copy some time after the original) and decisions on the
    version before, with any outcome and sequence, arriving anywhere."""
    noisy = list(arrivals)
    for _ in range(draw(st.integers(0, 4))):
        original = draw(st.integers(0, len(arrivals) - 1))
        position = noisy.index(arrivals[original])
        noisy.insert(draw(st.integers(position + 1, len(noisy))), arrivals[original])
    for _ in range(draw(st.integers(0, 3))):
        old = stale(draw(st.sampled_from(AGENCIES)), draw(st.sampled_from(list(Outcome))), draw(st.integers(1, 9)))
        noisy.insert(draw(st.integers(0, len(noisy))), old)
    return noisy


@given(st.data(), histories(clearing_only_last=True))
def test_final_state_is_the_join_of_each_agencys_last_decision_whatever_the_order(data, history):
    # When only an agency's last decision clears, no order can release early: the end is always the same.
    required, decisions = history
    last = {decision.agency: decision for decision in sorted(decisions, key=lambda d: d.sequence)}
    arrivals = data.draw(st.permutations(decisions))
    states = run(required, arrivals)
    expected = join(required, last).state
    assert (states[-1] if states else ClearanceState.SUBMITTED) is expected


@given(st.data(), histories(clearing_only_last=False))
def test_redeliveries_and_stale_versions_change_no_transition(data, history):
    required, decisions = history
    arrivals = data.draw(st.permutations(decisions))
    assert run(required, data.draw(with_noise(arrivals))) == run(required, arrivals)


@given(st.data(), histories(clearing_only_last=False))
def test_release_is_final_and_only_when_every_required_agency_cleared(data, history):
    required, decisions = history
    arrivals = data.draw(st.permutations(decisions))
    states = run(required, arrivals)
    if ClearanceState.RELEASED in states:
        assert states[-1] is ClearanceState.RELEASED
        assert states.count(ClearanceState.RELEASED) == 1
        released_after = next(
            n for n in range(1, len(arrivals) + 1) if run(required, arrivals[:n])[-1:] == [ClearanceState.RELEASED]
        )
        seen = arrivals[:released_after]
        for agency in required:
            latest = max((d for d in seen if d.agency == agency), key=lambda d: d.sequence)
            assert latest.outcome in CLEARING, (agency, latest)


@given(st.data(), histories(clearing_only_last=False))
def test_any_refusal_or_hold_in_the_latest_decisions_wins_until_release(data, history):
    required, decisions = history
    arrivals = data.draw(st.permutations(decisions))
    for n in range(1, len(arrivals) + 1):
        states = run(required, arrivals[:n])
        if ClearanceState.RELEASED in states:
            break
        latest: dict[str, AgencyDecision] = {}
        for decision in arrivals[:n]:
            if decision.agency not in latest or decision.sequence > latest[decision.agency].sequence:
                latest[decision.agency] = decision
        outcomes = {decision.outcome for decision in latest.values()}
        now = states[-1] if states else ClearanceState.SUBMITTED
        if Outcome.REFUSED in outcomes:
            assert now is ClearanceState.REFUSED
        elif Outcome.HELD in outcomes:
            assert now in (ClearanceState.UNDER_CONTROL, ClearanceState.PARTIALLY_HELD)
            assert (now is ClearanceState.PARTIALLY_HELD) == (Outcome.RELEASED in outcomes)
        else:
            assert now in (ClearanceState.SUBMITTED, ClearanceState.ACCEPTED)


@given(histories(clearing_only_last=False))
def test_nothing_moves_a_cancelled_or_released_version(history):
    required, decisions = history
    for final in (ClearanceState.CANCELLED, ClearanceState.RELEASED):
        assert advance(final, required, decisions, VERSION) is None
