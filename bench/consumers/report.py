"""The consumer benchmark's tables in Markdown, from its JSON report (bench/report.py puts them in RESULTS.md), and
the problems that make a run fail."""

from typing import Any

from bench.consumers.profile import tables

TARGET = {"per_instance_per_second": 5000, "floor_per_instance_per_second": 1500}
"""Issue 10: each consumer service, declarations decided per second per instance: the target, and the floor."""


def _runs_table(report: dict[str, Any]) -> list[str]:
    floor, target = TARGET["floor_per_instance_per_second"], TARGET["per_instance_per_second"]
    lines = [
        f"| service | instances | declarations | decided/s | per instance | vs floor {floor:,} | vs target {target:,} "
        "| CPU ms per declaration | cores | startup s | decisions | decisions/s | missing | duplicates "
        "| dead letters |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in report["runs"]:
        per_instance = run["per_instance_per_second"]
        duplicates = run["duplicate_event_ids"] + run["extra_decisions"]
        startup = "-" if run["startup_seconds"] is None else f"{run['startup_seconds']:.1f}"
        # Not in reports before 2026-12-07.
        cpu = "-" if run.get("cpu_ms_per_declaration") is None else f"{run['cpu_ms_per_declaration']:.2f}"
        cores = "-" if run.get("cores_used") is None else f"{run['cores_used']:.2f}"
        lines.append(
            f"| {run['agency']} | {run['instances']} | {run['declarations']:,} | {run['declarations_per_second']:,.0f} "
            f"| {per_instance:,.0f} | {per_instance / floor:.2f}x | {per_instance / target:.2f}x "
            f"| {cpu} | {cores} | {startup} | {run['decisions_published']:,} "
            f"| {run['decisions_per_second']:,.0f} | {run['missing']:,} | {duplicates:,} "
            f"| {sum(run['dead_letters'].values()):,} |"
        )
    return lines if len(lines) > 2 else []


def _workload_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| service | instances | input events | certificates | goods items | pre-load s | outcomes | partitions "
        "(last assignment) |",
        "|---|--:|--:|--:|--:|--:|---|---|",
    ]
    for run in report["runs"]:
        outcomes = ", ".join(f"{name} {count:,}" for name, count in run["outcomes"].items())
        assignments = "; ".join(f"{name}: {given}" for name, given in sorted(run["assignments"].items()))
        lines.append(
            f"| {run['agency']} | {run['instances']} | {run['input_events']:,} | {run['certificates']:,} "
            f"| {run['goods_items']:,} | {run['preload_seconds']:.1f} | {outcomes} | {assignments} |"
        )
    return lines if len(lines) > 2 else []


def markdown(report: dict[str, Any]) -> str:
    settings, machine, versions = report["settings"], report["machine"], report["versions"]
    lines = [
        "# Consumers: declarations decided per second",
        "",
        f"{report['date']}, {machine['cpu']}, {machine['cores']} cores ({machine['shared']}), load "
        f"{machine['load_average_at_start']:.2f} at the start and {machine.get('load_average_at_end', 0):.2f} at the "
        f"end; " + ", ".join(f"{name} {version}" for name, version in versions.items()) + ". "
        f"{settings['declarations']:,} declarations per run{' (quick)' if settings['quick'] else ''}, "
        f"{settings['partitions']} partitions per topic, {settings['database']} (a fresh database per run, shared by "
        "the instances of a run). A run pre-loads the events, then starts the instances reading from the beginning; "
        "*decided/s* counts from the first decision on the broker to the last declaration's decision that counts "
        "(startup, the time to the first decision, is apart); *per instance* is that over the instances. *CPU ms per "
        "declaration* is the CPU time (user and system) the instances used from about the first decision to the last, "
        "over the declarations decided in that time, and *cores* that time over the span: a figure the machine's "
        "other load moves less than the rate.",
        "",
        *_runs_table(report),
        "",
        *_workload_table(report),
    ]
    profiled = [run for run in report["runs"] if run.get("profile")]
    if profiled:
        lines += ["", "## Where the time goes (py-spy)", ""]
        for run in profiled:
            lines += [*tables(f"{run['agency']}, 1 instance", run["profile"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def problems(report: dict[str, Any]) -> list[str]:
    """Why the run fails: an empty table, or a decision missing, duplicated or dead-lettered, or no profile."""
    found = []
    if not _runs_table(report):
        found.append("empty table: no run measured")
    settings = report["settings"]
    for run in report["runs"]:
        what = f"{run['agency']} x{run['instances']}"
        if not run["complete"] or run["missing"]:
            found.append(f"{what}: {run['missing']} declarations without their decision")
        if run["duplicate_event_ids"] or run["extra_decisions"]:
            found.append(f"{what}: {run['duplicate_event_ids'] + run['extra_decisions']} duplicated decisions")
        if any(run["dead_letters"].values()):
            found.append(f"{what}: dead letters {run['dead_letters']}")
        if run["unexpected_records"]:
            found.append(f"{what}: {run['unexpected_records']} records on the decisions topic that are not ours")
        if settings["profile"] and run["instances"] == 1 and not run.get("profile", {}).get("samples"):
            found.append(f"{what}: empty table: no profile samples")
    return found
