"""What /metrics tells an operator after real traffic: decisions by agency and lane, waiting times, lag."""

from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import payloads
from tests.support.in_process import TRADER_KEY, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

Labels = dict[str, str]
Samples = list[tuple[str, Labels, float]]


async def scraped(system: System) -> Samples:
    """Every sample of the gateway's /metrics (the registry is the process's: the services share it here)."""
    response = await system.client.get("/metrics")
    assert response.status_code == 200
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def value(samples: Samples, name: str, wanted: Labels | None = None) -> float:
    """The sum of the samples of `name` whose labels include `wanted`."""
    return sum(v for n, labels, v in samples if n == name and (wanted or {}).items() <= labels.items())


def grew(before: Samples, by: float) -> Callable[..., Callable[[Samples], bool]]:
    """A check maker: has `name` (with `wanted` labels) grown by `by` since `before`?"""

    def check(name: str, wanted: Labels | None = None) -> Callable[[Samples], bool]:
        return lambda now: value(now, name, wanted) - value(before, name, wanted) == by

    return check


async def test_a_release_is_counted_by_agency_lane_and_state_with_its_waiting_times(system: System) -> None:
    before = await scraped(system)
    body = payloads.customs_only("84713000", "CN")
    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert response.status_code == 201, response.text

    by_one = grew(before, 1)
    expected = [
        by_one("sw_agency_decisions_total", {"agency": "customs", "outcome": "released", "lane": "green"}),
        by_one("sw_time_to_decision_seconds_count", {"agency": "customs"}),
        by_one("sw_clearance_decisions_total", {"state": "released"}),
        by_one("sw_time_to_release_seconds_count"),
    ]

    async def counted() -> Samples | None:
        now = await scraped(system)
        return now if all(check(now) for check in expected) else None

    after = await eventually(counted, within=30, what="the release to be counted")
    # Only customs was required and it decided once: no other agency's decision was counted.
    assert value(after, "sw_agency_decisions_total") - value(before, "sw_agency_decisions_total") == 1
    # The waiting time observed is real: more than nothing, far less than the test's 30 s.
    waited = value(after, "sw_time_to_release_seconds_sum") - value(before, "sw_time_to_release_seconds_sum")
    assert 0 < waited < 30


async def test_consumer_lag_is_measured_per_group_and_partition(system: System) -> None:
    prefix = system.gateway.settings.topic_prefix
    groups = {f"{prefix}gateway": f"{prefix}decisions", f"{prefix}customs": f"{prefix}declarations"}
    body = payloads.customs_only("84713000", "CN")
    assert (await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)).status_code == 201

    async def measured() -> Samples | None:
        now = await scraped(system)
        lags = {(labels["group"], labels["topic"]) for n, labels, _ in now if n == "sw_consumer_lag"}
        return now if set(groups.items()) <= lags else None

    now = await eventually(measured, within=30, what="the lag of the gateway's and customs' groups")

    async def caught_up() -> bool:
        latest = await scraped(system)
        return all(value(latest, "sw_consumer_lag", {"group": g, "topic": t}) == 0 for g, t in groups.items())

    await eventually(caught_up, within=30, what="both groups to be 0 behind")
    partitions = {labels["partition"] for n, labels, _ in now if n == "sw_consumer_lag" and labels["group"] in groups}
    assert partitions == {"0"}  # the tests' topics have one partition
