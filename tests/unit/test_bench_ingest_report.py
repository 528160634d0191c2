"""The ingest benchmark's closed-loop table: the CPU a request cost the bridge, the gateway and the broker."""

from typing import Any

from bench.ingest.report import closed_table


def _closed(target: str, rate: float, cpu: dict[str, Any] | None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "payload": "small",
        "target": target,
        "mode": "closed",
        "accepted_per_second": rate,
        "latency_ms": {"p50": 30.0, "p99": 90.0, "p99.9": 200.0},
        "non_2xx": 0,
    }
    if cpu is not None:
        run["cpu"] = cpu
    return run


def _used(ms: float, cores: float) -> dict[str, float]:
    return {"seconds": ms, "ms_each": ms, "cores": cores}


def test_each_closed_run_shows_what_a_request_cost_its_target_and_the_broker() -> None:
    report = {
        "settings": {"payloads": {"small": {}}, "gateways": [{"target": "gateway sqlite"}, {"target": "gateway pg"}]},
        "runs": [
            _closed(
                "bridge", 650, {"target": _used(2.16, 1.4), "broker": _used(0.71, 0.46), "machine": _used(0, 1.88)}
            ),
            _closed(  # no broker pid given; the hypervisor took some of the machine meanwhile
                "gateway sqlite",
                926,
                {"target": _used(1.07, 0.99), "machine": _used(0, 1.23), "stolen": _used(0, 0.12)},
            ),
            _closed("gateway pg", 300, None),  # a run measured before the harness counted CPU
        ],
    }

    rows = closed_table(report)

    assert rows[0].endswith("| target CPU ms a request | broker CPU ms a request | machine busy (stolen), cores |")
    assert {row.count("|") for row in rows} == {13}  # the header's columns in every row
    assert rows[2].startswith("| small | bridge | 650 |")
    assert rows[2].endswith("| 2.16 | 0.71 | 1.88 |")
    assert rows[3].startswith("| small | gateway sqlite | 926 |")
    assert rows[3].endswith("| 1.07 | - | 1.23 (0.12 stolen) |")
    assert rows[4].endswith("| - | - | - |")
