"""The garbage collector's settings once a service has started (services/contract/collector.py)."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from services.contract.collector import settle
from services.gateway.settings import GatewaySettings


@pytest.fixture(autouse=True)
def collector_as_it_was() -> Iterator[None]:
    """Each test starts with nothing frozen and leaves the collector as it found it."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class Survivor:
    """A container object the collector tracks."""

    itself: "Survivor | None" = None


def test_sets_the_young_threshold_and_keeps_the_others() -> None:
    gc.set_threshold(700, 11, 12)
    settle(young_threshold=25_000, freeze=False)
    assert gc.get_threshold() == (25_000, 11, 12)
    assert gc.get_freeze_count() == 0


def test_freezes_what_start_up_built_and_collects_its_garbage_first() -> None:
    built = [Survivor() for _ in range(1000)]
    left = Survivor()
    left.itself = left  # cyclic garbage start-up left: collected, not frozen for good
    gone = weakref.ref(left)
    del left
    settle(young_threshold=50_000, freeze=True)
    assert gone() is None
    assert gc.get_freeze_count() >= len(built)
    assert not any(obj is built for obj in gc.get_objects())  # frozen objects are out of the generations


def test_a_process_freezes_once() -> None:
    settle(young_threshold=50_000, freeze=True)
    frozen = gc.get_freeze_count()
    later = [Survivor() for _ in range(1000)]  # objects of a later start, which will become garbage
    settle(young_threshold=50_000, freeze=True)
    assert gc.get_freeze_count() == frozen
    assert any(obj is later[0] for obj in gc.get_objects())  # still the collector's


def test_without_freezing_nothing_is_frozen() -> None:
    settle(young_threshold=700, freeze=False)
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("value", ["0", "99", "10000001", "many"])
def test_a_threshold_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SW_GATEWAY_GC_YOUNG_THRESHOLD", value)
    with pytest.raises(SystemExit):
        GatewaySettings.load()
