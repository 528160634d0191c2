"""The benchmarks' CPU account (`CpuUsage`): what it measures of a process, and the end-to-end table of it; the
gateway's profile, and py-spy's recorder when it cannot record."""

import os
import time
from typing import Any

import pytest

from bench.consumers.instances import py_spy, recording
from bench.e2e import cpu_table, markdown
from bench.ingest.processes import CpuUsage, cpu_seconds

TICK = 1 / os.sysconf("SC_CLK_TCK")


def _busy(seconds: float) -> None:
    """Use at least `seconds` of this process's CPU, as /proc counts it (a deadline, not a sleep)."""
    start = cpu_seconds(os.getpid())
    deadline = time.monotonic() + 30
    while cpu_seconds(os.getpid()) - start < seconds:
        sum(range(10_000))
        assert time.monotonic() < deadline, "the process got no CPU for 30 s"


def test_cpu_usage_counts_the_work_of_each_process_and_of_the_machine() -> None:
    usage = CpuUsage({"harness": [os.getpid()]})

    _busy(0.2)
    used = usage.spent(4)

    mine = used["harness"]
    assert mine["seconds"] >= 0.2
    assert abs(mine["ms_each"] - 250 * mine["seconds"]) <= 1.3  # of the seconds before rounding
    assert 0 < mine["cores"] < 1.5  # one thread (a tick of 10 ms is 5% of the span)
    assert used["machine"]["seconds"] >= mine["seconds"] - 2 * TICK  # the machine ran this process at least
    assert used["span_seconds"] > 0


def test_no_declaration_decided_gives_no_cost_a_declaration() -> None:
    used = CpuUsage({"harness": [os.getpid()]}).spent(0)

    assert used["harness"]["ms_each"] is None
    assert used["machine"]["ms_each"] is None


def _run(kind: str, rate: float, cpu: dict[str, Any] | None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "kind": kind,
        "offered_per_second": rate,
        "http": {"accepted_per_second": rate, "latency_ms": {"p50": 3.0, "p99": 20.0}},
        "decided": 10,
        "undecided": 0,
        "outcomes": {"released": 10},
        "decision_ms": {"p50": 150.0, "p99": 250.0, "max": 300.0},
        "sustained_under_bound": True,
    }
    if cpu is not None:
        run["cpu"] = cpu
    return run


def _report(*runs: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": "2026-12-07T19:00:00+00:00",
        "machine": {"cpu": "test", "cores": 2, "memory_gib": 1, "load_average_at_start": 0.5},
        "git": {"commit": "0" * 40, "dirty": False},
        "settings": {"quick": True, "kinds": {"customs": "test"}, "seconds": 8, "connections": 16, "services": "test"},
        "runs": list(runs),
    }


def _used(ms: float, cores: float) -> dict[str, float]:
    return {"seconds": ms * 10 / 1000, "ms_each": ms, "cores": cores}


def test_the_cpu_table_shows_each_process_a_declaration_and_leaves_out_what_was_not_measured() -> None:
    measured = {
        "span_seconds": 9.0,
        "gateway": _used(2.5, 0.6),
        "customs": _used(0.7, 0.2),
        "phyto": _used(0.3, 0.05),
        "machine": _used(5.0, 1.3),
        "stolen": _used(0.2, 0.05),
    }  # no broker: its pid was not given
    report = _report(_run("customs", 10, None), _run("customs", 250, measured))

    lines = cpu_table(report)

    assert lines[0].endswith("| machine busy (stolen), cores of 2 |")
    assert {line.count("|") for line in lines} == {8}  # the header's columns in every row
    assert lines[2:] == ["| customs | 250 | 2.50 (0.60) | 0.70 (0.20) | 0.30 (0.05) | - | 1.30 (0.05 stolen) |"]
    assert "Where the CPU went" in markdown(report)


def test_a_report_from_before_the_cpu_account_renders_without_its_table() -> None:
    report = _report(_run("customs", 10, None))

    assert cpu_table(report) == []
    assert "Where the CPU went" not in markdown(report)


def test_a_gateway_profile_is_shown_with_the_rate_it_was_taken_at() -> None:
    profile = {
        "kind": "customs",
        "offered_per_second": 250.0,
        "seconds": 30.0,
        "file": "profiles/e2e-customs-gateway.speedscope.json",
        "rate_hz": 100,
        "samples": 2,
        "threads": {"MainThread": 1.0},
        "areas": [{"area": "gateway HTTP (entrypoints)", "share": 0.5}, {"area": "pydantic", "share": 0.5}],
        "self": [{"function": "lodge (services/gateway/entrypoints/routes/declarations.py)", "share": 0.5}],
        "inclusive": [{"function": "lodge (services/gateway/entrypoints/routes/declarations.py)", "share": 1.0}],
    }
    report = _report(_run("customs", 250, None))

    assert "Where the gateway's time goes" not in markdown({**report, "profiles": []})
    text = markdown({**report, "profiles": [profile]})
    assert "## Where the gateway's time goes (py-spy)" in text
    assert "**the gateway, customs at 250/s for 30 s and the decisions' drain** (2 samples at 100 Hz" in text
    assert "| gateway HTTP (entrypoints) | 50.0% |" in text


@pytest.mark.skipif(py_spy() is None, reason="py-spy is not installed (pip install -e '.[dev]' installs it)")
def test_a_recording_that_cannot_attach_says_why_and_keeps_the_work(tmp_path: Any) -> None:
    gone = 2**22 + 1  # above Linux's default pid_max: no process has it
    done = []

    with recording(gone, tmp_path / "profile.txt", form="raw", rate=10) as recorded:
        done.append("the run")

    assert done == ["the run"]
    assert recorded.problem is not None
    assert recorded.problem.startswith(f"py-spy wrote no profile of process {gone}")
