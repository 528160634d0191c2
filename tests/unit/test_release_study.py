"""The Time Release Study on a fixed-clock log: exact nearest-rank percentiles, groups and waiting counts."""

from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.domain.release_study import (
    Consignment,
    Dimension,
    Interval,
    Summary,
    nearest_rank,
    study,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def consignment(n: int, **changes: object) -> Consignment:
    """Consignment n (1..10) lodged at T0 + n hours: customs decides after n s, release after 10n s."""
    lodged = at(n * 3600)
    values: dict[str, object] = {
        "declaration_id": f"D{n:02}",
        "lodged_at": lodged,
        "required_agencies": ("customs",),
        "hs_chapters": frozenset({"84"}),
        "office": "NLRTM",
        "lane": "green",
        "first_decisions": {"customs": lodged + timedelta(seconds=n)},
        "released_at": lodged + timedelta(seconds=10 * n),
    }
    values.update(changes)
    return Consignment(**values)  # type: ignore[arg-type]


def row(
    rows: list[Summary], dimension: Dimension, group: str, interval: Interval, agency: str | None = None
) -> Summary:
    wanted = (dimension, group, interval, agency)
    [found] = [r for r in rows if (r.dimension, r.group, r.interval, r.agency) == wanted]
    return found


class TestNearestRank:
    @pytest.mark.parametrize(
        ("percentile", "expected"), [(0, 1.0), (10, 1.0), (50, 5.0), (75, 8.0), (90, 9.0), (95, 10.0), (100, 10.0)]
    )
    def test_ten_values(self, percentile: float, expected: float) -> None:
        assert nearest_rank([float(v) for v in range(1, 11)], percentile) == expected

    def test_one_value_is_every_percentile(self) -> None:
        assert {nearest_rank([7.0], p) for p in (1, 50, 99)} == {7.0}

    def test_no_values_or_a_percentile_out_of_range_is_refused(self) -> None:
        with pytest.raises(ValueError, match="no values"):
            nearest_rank([], 50)
        with pytest.raises(ValueError, match="not between 0 and 100"):
            nearest_rank([1.0], 101)


class TestStudy:
    def test_ten_consignments_give_exact_percentiles_of_each_interval(self) -> None:
        rows = study([consignment(n) for n in range(1, 11)], [Dimension.ALL])
        decision = row(rows, Dimension.ALL, "all", Interval.LODGEMENT_TO_DECISION, "customs")
        assert (decision.count, decision.waiting) == (10, 0)
        assert decision.percentiles == {50: 5.0, 75: 8.0, 90: 9.0, 95: 10.0, 99: 10.0}
        assert (decision.minimum, decision.maximum, decision.mean) == (1.0, 10.0, 5.5)
        release = row(rows, Dimension.ALL, "all", Interval.LODGEMENT_TO_RELEASE)
        assert release.percentiles == {50: 50.0, 75: 80.0, 90: 90.0, 95: 100.0, 99: 100.0}
        # No arrival reported: the intervals from arrival have not begun, so they have no row at all.
        assert [r.interval for r in rows] == [Interval.LODGEMENT_TO_DECISION, Interval.LODGEMENT_TO_RELEASE]

    def test_unreleased_consignments_are_waiting_not_left_out(self) -> None:
        log = [consignment(n) for n in range(1, 4)] + [consignment(4, released_at=None, first_decisions={})]
        rows = study(log, [Dimension.ALL])
        release = row(rows, Dimension.ALL, "all", Interval.LODGEMENT_TO_RELEASE)
        assert (release.count, release.waiting) == (3, 1)
        assert release.percentiles[50] == 20.0
        decision = row(rows, Dimension.ALL, "all", Interval.LODGEMENT_TO_DECISION, "customs")
        assert (decision.count, decision.waiting) == (3, 1)

    def test_arrival_intervals_count_pre_arrival_lodgement_as_negative_and_release_before_arrival_as_zero(self) -> None:
        early = consignment(1, arrived_at=at(3600 + 600))  # lodged 10 min before arrival, released 10 s after lodging
        late = consignment(2, arrived_at=at(7200 - 300))  # arrived 5 min before lodgement, released 20 s after it
        rows = study([early, late], [Dimension.ALL])
        lodging = row(rows, Dimension.ALL, "all", Interval.ARRIVAL_TO_LODGEMENT)
        assert (lodging.minimum, lodging.maximum) == (-600.0, 300.0)
        waited = row(rows, Dimension.ALL, "all", Interval.ARRIVAL_TO_RELEASE)
        assert (waited.minimum, waited.maximum) == (0.0, 320.0)

    def test_groups_by_lane_office_and_chapter(self) -> None:
        log = [
            consignment(1, lane="green", office="NLRTM", hs_chapters=frozenset({"06", "84"})),
            consignment(2, lane="red", office="NLAMS", hs_chapters=frozenset({"84"})),
            consignment(3, lane="red", office="NLRTM", hs_chapters=frozenset()),
        ]
        rows = study(log, [Dimension.LANE, Dimension.OFFICE, Dimension.HS_CHAPTER])
        releases = {(r.dimension, r.group): r.count for r in rows if r.interval is Interval.LODGEMENT_TO_RELEASE}
        assert releases == {
            (Dimension.LANE, "green"): 1,
            (Dimension.LANE, "red"): 2,
            (Dimension.OFFICE, "NLAMS"): 1,
            (Dimension.OFFICE, "NLRTM"): 2,
            (Dimension.HS_CHAPTER, "06"): 1,
            (Dimension.HS_CHAPTER, "84"): 2,
            (Dimension.HS_CHAPTER, "unknown"): 1,
        }
        assert row(rows, Dimension.LANE, "red", Interval.LODGEMENT_TO_RELEASE).percentiles[50] == 20.0

    def test_by_agency_each_agency_has_its_own_decision_row_and_the_releases_it_took_part_in(self) -> None:
        both = consignment(
            1,
            required_agencies=("customs", "phyto"),
            first_decisions={"customs": at(3600 + 1), "phyto": at(3600 + 7)},
        )
        awaited = consignment(2, required_agencies=("customs", "phyto"), released_at=None)
        rows = study([both, awaited, consignment(3)], [Dimension.AGENCY])
        phyto = row(rows, Dimension.AGENCY, "phyto", Interval.LODGEMENT_TO_DECISION, "phyto")
        assert (phyto.count, phyto.waiting, phyto.maximum) == (1, 1, 7.0)
        customs = row(rows, Dimension.AGENCY, "customs", Interval.LODGEMENT_TO_DECISION, "customs")
        assert (customs.count, customs.percentiles[50]) == (3, 2.0)
        # Grouped by agency, no agency carries another's decision row.
        assert {(r.group, r.agency) for r in rows if r.interval is Interval.LODGEMENT_TO_DECISION} == {
            ("customs", "customs"),
            ("phyto", "phyto"),
        }
        assert row(rows, Dimension.AGENCY, "phyto", Interval.LODGEMENT_TO_RELEASE).waiting == 1

    def test_rows_come_in_a_stable_order_whatever_the_order_of_the_log(self) -> None:
        log = [consignment(n, lane=("green", "red")[n % 2]) for n in range(1, 7)]
        assert study(log) == study(list(reversed(log)))

    def test_an_empty_period_has_no_rows(self) -> None:
        assert study([]) == []
