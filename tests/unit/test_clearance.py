"""The single-window join: each agency's latest decision, and the one status they add up to."""

import itertools

import pytest

from services.contract.events import ClearanceState, ClearanceStatus, Outcome, Reason
from services.gateway.domain.clearance import join, latest_decisions, supersedes
from tests.unit.builders import agency_decision, reason

REQUIRED = ["customs", "phyto"]


class TestSupersedes:
    def test_first_decision_for_the_version_is_taken(self):
        assert supersedes(agency_decision("customs", Outcome.HELD), None, declaration_version=1)

    def test_higher_sequence_replaces_the_current_decision(self):
        current = agency_decision("customs", Outcome.HELD, sequence=1)
        incoming = agency_decision("customs", Outcome.RELEASED, sequence=2)
        assert supersedes(incoming, current, declaration_version=1)

    def test_lower_sequence_is_stale(self):
        current = agency_decision("customs", Outcome.RELEASED, sequence=3)
        incoming = agency_decision("customs", Outcome.HELD, sequence=2)
        assert not supersedes(incoming, current, declaration_version=1)

    def test_same_sequence_is_a_duplicate(self):
        current = agency_decision("customs", Outcome.HELD, sequence=2)
        assert not supersedes(current, current, declaration_version=1)

    @pytest.mark.parametrize("other_version", [1, 3])
    def test_decision_on_another_declaration_version_is_ignored(self, other_version):
        incoming = agency_decision("customs", Outcome.RELEASED, sequence=9, declaration_version=other_version)
        assert not supersedes(incoming, None, declaration_version=2)

    def test_decision_on_the_current_version_replaces_one_on_an_older_version(self):
        current = agency_decision("customs", Outcome.RELEASED, sequence=5, declaration_version=1)
        incoming = agency_decision("customs", Outcome.HELD, sequence=1, declaration_version=2)
        assert supersedes(incoming, current, declaration_version=2)


class TestLatestDecisions:
    def test_keeps_the_highest_sequence_per_agency(self):
        decisions = [
            agency_decision("phyto", Outcome.HELD, sequence=1),
            agency_decision("customs", Outcome.RELEASED, sequence=1),
            agency_decision("phyto", Outcome.RELEASED, sequence=2),
        ]
        latest = latest_decisions(decisions, declaration_version=1)
        assert latest == {"customs": decisions[1], "phyto": decisions[2]}

    def test_stale_decision_arriving_late_is_ignored(self):
        newer = agency_decision("phyto", Outcome.RELEASED, sequence=2)
        stale = agency_decision("phyto", Outcome.HELD, sequence=1)
        assert latest_decisions([newer, stale], declaration_version=1) == {"phyto": newer}

    def test_duplicate_decision_does_not_replace_the_first(self):
        first = agency_decision("phyto", Outcome.HELD, sequence=1)
        redelivered = agency_decision("phyto", Outcome.HELD, sequence=1)
        latest = latest_decisions([first, redelivered], declaration_version=1)
        assert latest["phyto"] is first

    def test_decisions_on_other_declaration_versions_are_ignored(self):
        decisions = [
            agency_decision("customs", Outcome.RELEASED, sequence=4, declaration_version=1),
            agency_decision("phyto", Outcome.HELD, sequence=1, declaration_version=3),
        ]
        assert latest_decisions(decisions, declaration_version=2) == {}

    def test_nothing_answered_gives_no_decisions(self):
        assert latest_decisions([], declaration_version=1) == {}

    def test_arrival_order_does_not_matter(self):
        decisions = [
            agency_decision("customs", Outcome.HELD, sequence=1),
            agency_decision("customs", Outcome.RELEASED, sequence=2),
            agency_decision("phyto", Outcome.HELD, sequence=1),
            agency_decision("phyto", Outcome.HELD, sequence=2, reasons=[reason()]),
            agency_decision("phyto", Outcome.RELEASED, sequence=3),
            agency_decision("phyto", Outcome.RELEASED, sequence=7, declaration_version=2),
        ]
        expected = {"customs": decisions[1], "phyto": decisions[4]}
        for order in itertools.permutations(decisions):
            assert latest_decisions(order, declaration_version=1) == expected, order


class TestJoin:
    def test_nothing_answered_is_submitted_and_waits_for_every_agency(self):
        clearance = join(REQUIRED, {})
        assert clearance.state is ClearanceState.SUBMITTED
        assert clearance.reasons == (
            Reason(code="AGENCY_PENDING", text="waiting for customs", agency="customs"),
            Reason(code="AGENCY_PENDING", text="waiting for phyto", agency="phyto"),
        )

    def test_standings_list_every_required_agency_in_order(self):
        customs = agency_decision("customs", Outcome.RELEASED, sequence=2)
        standings = join(REQUIRED, {"customs": customs}).agencies
        assert [(s.agency, s.outcome, s.sequence) for s in standings] == [
            ("customs", Outcome.RELEASED, 2),
            ("phyto", None, None),
        ]

    @pytest.mark.parametrize("outcome", [Outcome.RELEASED, Outcome.NOT_CONCERNED])
    def test_one_agency_clearing_is_accepted_and_waits_for_the_rest(self, outcome):
        clearance = join(REQUIRED, {"customs": agency_decision("customs", outcome)})
        assert clearance.state is ClearanceState.ACCEPTED
        assert clearance.reasons == (Reason(code="AGENCY_PENDING", text="waiting for phyto", agency="phyto"),)

    @pytest.mark.parametrize(
        ("customs", "phyto"),
        [
            (Outcome.RELEASED, Outcome.RELEASED),
            (Outcome.RELEASED, Outcome.NOT_CONCERNED),
            (Outcome.NOT_CONCERNED, Outcome.NOT_CONCERNED),
        ],
    )
    def test_every_agency_clearing_releases_without_reasons(self, customs, phyto):
        latest = {"customs": agency_decision("customs", customs), "phyto": agency_decision("phyto", phyto)}
        clearance = join(REQUIRED, latest)
        assert clearance.state is ClearanceState.RELEASED
        assert clearance.reasons == ()

    def test_hold_after_another_agency_released_is_partially_held_with_agency_reasons(self):
        latest = {
            "customs": agency_decision("customs", Outcome.RELEASED),
            "phyto": agency_decision("phyto", Outcome.HELD, reasons=[reason("CERTIFICATE_AWAITED", "waiting")]),
        }
        clearance = join(REQUIRED, latest)
        assert clearance.state is ClearanceState.PARTIALLY_HELD
        assert clearance.status is ClearanceStatus.HELD
        assert clearance.reasons == (Reason(code="CERTIFICATE_AWAITED", text="waiting", agency="phyto"),)

    @pytest.mark.parametrize("other", [Outcome.NOT_CONCERNED, Outcome.HELD])
    def test_hold_without_any_release_is_under_control(self, other):
        latest = {
            "customs": agency_decision("customs", other),
            "phyto": agency_decision("phyto", Outcome.HELD, reasons=[reason("CERTIFICATE_AWAITED", "waiting")]),
        }
        assert join(REQUIRED, latest).state is ClearanceState.UNDER_CONTROL

    def test_hold_wins_even_while_another_agency_has_not_answered(self):
        latest = {"phyto": agency_decision("phyto", Outcome.HELD, reasons=[reason("CERTIFICATE_AWAITED", "waiting")])}
        clearance = join(REQUIRED, latest)
        assert clearance.state is ClearanceState.UNDER_CONTROL
        assert [r.code for r in clearance.reasons] == ["CERTIFICATE_AWAITED"]

    def test_reasons_of_every_holding_agency_are_kept(self):
        latest = {
            "customs": agency_decision("customs", Outcome.HELD, reasons=[reason("LANE_RED", "inspection")]),
            "phyto": agency_decision("phyto", Outcome.HELD, reasons=[reason("CERTIFICATE_AWAITED", "waiting")]),
        }
        assert join(REQUIRED, latest).reasons == (
            Reason(code="LANE_RED", text="inspection", agency="customs"),
            Reason(code="CERTIFICATE_AWAITED", text="waiting", agency="phyto"),
        )

    def test_any_refusal_wins_over_holds(self):
        latest = {
            "customs": agency_decision("customs", Outcome.HELD, reasons=[reason("LANE_RED", "inspection")]),
            "phyto": agency_decision("phyto", Outcome.REFUSED, reasons=[reason("PEST_FOUND", "Thrips palmi")]),
        }
        clearance = join(REQUIRED, latest)
        assert clearance.state is ClearanceState.REFUSED
        assert clearance.reasons == (Reason(code="PEST_FOUND", text="Thrips palmi", agency="phyto"),)

    def test_later_release_moves_a_hold_to_released(self):
        decisions = [
            agency_decision("customs", Outcome.RELEASED),
            agency_decision("phyto", Outcome.HELD, sequence=1, reasons=[reason()]),
            agency_decision("phyto", Outcome.RELEASED, sequence=2),
        ]
        assert join(REQUIRED, latest_decisions(decisions[:2], 1)).state is ClearanceState.PARTIALLY_HELD
        assert join(REQUIRED, latest_decisions(decisions, 1)).state is ClearanceState.RELEASED

    def test_stale_hold_after_a_release_keeps_the_release(self):
        decisions = [
            agency_decision("customs", Outcome.RELEASED),
            agency_decision("phyto", Outcome.RELEASED, sequence=2),
            agency_decision("phyto", Outcome.HELD, sequence=1, reasons=[reason()]),
        ]
        assert join(REQUIRED, latest_decisions(decisions, 1)).state is ClearanceState.RELEASED

    @pytest.mark.parametrize("outcome", [Outcome.HELD, Outcome.REFUSED])
    def test_decision_of_an_agency_not_required_changes_nothing(self, outcome):
        latest = {
            "customs": agency_decision("customs", Outcome.RELEASED),
            "vet": agency_decision("vet", outcome, reasons=[reason("NOT_FOR_YOU", "not required")]),
        }
        clearance = join(["customs"], latest)
        assert clearance.state is ClearanceState.RELEASED
        assert clearance.reasons == ()
        assert [s.agency for s in clearance.agencies] == ["customs"]

    def test_longest_allowed_reason_is_kept_whole_with_its_agency(self):
        # Any agency may send a reason text of up to 512 characters; the join must not fail on it.
        longest = "x" * 512
        latest = {"customs": agency_decision("customs", Outcome.HELD, reasons=[reason("LANE_RED", longest)])}
        clearance = join(["customs"], latest)
        assert clearance.state is ClearanceState.UNDER_CONTROL
        assert clearance.reasons[0].code == "LANE_RED"
        assert clearance.reasons[0].text == longest
        assert clearance.reasons[0].agency == "customs"
