"""Release time from lodgement and from arrival, pre-arrival processing included."""

from datetime import UTC, datetime, timedelta

from services.gateway.domain.release_times import ReleaseTimes, release_times

LODGED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_not_released_yet_has_no_times() -> None:
    assert release_times(LODGED, LODGED + timedelta(hours=1), None) == ReleaseTimes(None, None)


def test_released_after_arrival() -> None:
    times = release_times(LODGED, LODGED + timedelta(hours=2), LODGED + timedelta(hours=2, minutes=30))
    assert times == ReleaseTimes(timedelta(hours=2, minutes=30), timedelta(minutes=30))


def test_released_before_arrival_waits_for_no_one_on_arrival() -> None:
    times = release_times(LODGED, LODGED + timedelta(hours=5), LODGED + timedelta(minutes=3))
    assert times == ReleaseTimes(timedelta(minutes=3), timedelta(0))


def test_released_with_no_arrival_reported() -> None:
    assert release_times(LODGED, None, LODGED + timedelta(seconds=2)) == ReleaseTimes(timedelta(seconds=2), None)
