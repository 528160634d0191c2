"""The ingest benchmark's tables in Markdown, from its JSON report (bench/report.py puts them in RESULTS.md)."""

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]


def _runs(report: dict[str, Any], target: str, mode: Callable[[str], bool]) -> list[Row]:
    return [r for r in report["runs"] if r["target"] == target and mode(r["mode"])]


def _find(report: dict[str, Any], payload: str, target: str, mode: str) -> Row | None:
    return next((r for r in report["runs"] if (r["payload"], r["target"], r["mode"]) == (payload, target, mode)), None)


def _ms(row: Row | None, key: str) -> str:
    value = None if row is None else row.get("latency_ms", {}).get(key)
    return "-" if value is None else f"{value:,.1f}"


def _rate(row: Row | None) -> str:
    if row is None:
        return "-"
    return f"{row['accepted_per_second']:,.0f}" + (" (void)" if row.get("void") else "")


def _failed(row: Row | None) -> str:
    if row is None:
        return "-"
    return f"{row.get('non_2xx', 0) + row.get('errors', 0) + sum(row.get('socket_errors', {}).values()):,}"


def _ratio(top: float | None, bottom: float | None) -> str:
    return "-" if not top or not bottom else f"{top / bottom:.2f}x"


def _latency(row: Row | None, key: str) -> float | None:
    return None if row is None else row.get("latency_ms", {}).get(key)


def _per_second(row: Row | None) -> float | None:
    return None if row is None else float(row["accepted_per_second"])


def _targets(report: dict[str, Any]) -> list[str]:
    """The bridge first, then each gateway setup in the order measured."""
    gateways = [setup["target"] for setup in report["settings"]["gateways"]]
    return ["bridge", *gateways]


def closed_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| payload | target | accepted/s | p50 ms | p99 ms | p99.9 ms | failed | rate vs bridge | p99 vs bridge "
        "| target CPU ms a request | broker CPU ms a request | machine busy (stolen), cores |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for payload in report["settings"]["payloads"]:
        peer = _find(report, payload, "bridge", "closed")
        for target in _targets(report):
            row = _find(report, payload, target, "closed")
            if row is None:
                continue
            lines.append(
                f"| {payload} | {target} | {_rate(row)} | {_ms(row, 'p50')} | {_ms(row, 'p99')} | {_ms(row, 'p99.9')} "
                f"| {_failed(row)} | {_ratio(_per_second(row), _per_second(peer))} "
                f"| {_ratio(_latency(row, 'p99'), _latency(peer, 'p99'))} | {_cpu(row, 'target')} "
                f"| {_cpu(row, 'broker')} | {machine_cores(row.get('cpu'))} |"
            )
    return lines if len(lines) > 2 else []


def _cpu(row: dict[str, Any], group: str) -> str:
    """The CPU a group of processes used for each request accepted, in ms; "-" when not measured."""
    used = row.get("cpu", {}).get(group)
    return "-" if used is None or used["ms_each"] is None else f"{used['ms_each']:.2f}"


def machine_cores(cpu: dict[str, Any] | None) -> str:
    """The machine's busy cores over a run, and those the hypervisor took from it (steal), when it took any."""
    if not cpu or "machine" not in cpu:
        return "-"
    stolen = cpu.get("stolen", {}).get("cores", 0.0)
    return f"{cpu['machine']['cores']:.2f}" + (f" ({stolen:.2f} stolen)" if stolen >= 0.01 else "")


def open_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| payload | offered/s | target | achieved/s | p50 ms | p99 ms | p99.9 ms | failed | p99 vs bridge |",
        "|---|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for payload in report["settings"]["payloads"]:
        for rate in report["settings"]["open_loop"]["rates"]:
            mode = f"open {rate:g}/s"
            peer = _find(report, payload, "bridge", mode)
            for target in _targets(report):
                row = _find(report, payload, target, mode)
                if row is None:
                    continue
                lines.append(
                    f"| {payload} | {rate:,.0f} | {target} | {_rate(row)} | {_ms(row, 'p50')} | {_ms(row, 'p99')} "
                    f"| {_ms(row, 'p99.9')} | {_failed(row)} | {_ratio(_latency(row, 'p99'), _latency(peer, 'p99'))} |"
                )
    return lines if len(lines) > 2 else []


def relay_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| payload | target | run | accepted | events on Kafka | lag p50 ms | lag p99 ms | lag max ms "
        "| drained after load s |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in (r for r in report["runs"] if r["target"].startswith("gateway")):
        relay = row.get("relay", {})
        if not relay.get("records"):
            continue
        lines.append(
            f"| {row['payload']} | {row['target']} | {row['mode']} | {row['accepted']:,} | {relay['records']:,} "
            f"| {relay['p50_ms']:,.0f} | {relay['p99_ms']:,.0f} | {relay['max_ms']:,.0f} "
            f"| {relay['seconds_to_drain_after_load']:,.1f} |"
        )
    return lines if len(lines) > 2 else []


def ceiling_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| payload | wrk (closed loop) requests/s | loadgen (unthrottled) requests/s | highest measured rate, closed "
        "| highest measured rate, open |",
        "|---|--:|--:|--:|--:|",
    ]
    for payload in report["settings"]["payloads"]:
        closed, opened = (
            _find(report, payload, "trivial", "closed ceiling"),
            _find(report, payload, "trivial", "open ceiling"),
        )
        if closed is None or opened is None:
            continue
        measured = [r for r in report["runs"] if r["payload"] == payload and r["target"] in _targets(report)]
        top_closed = max((r["accepted_per_second"] for r in measured if r["mode"] == "closed"), default=0)
        top_open = max((r["accepted_per_second"] for r in measured if r["mode"].startswith("open")), default=0)
        lines.append(f"| {payload} | {_rate(closed)} | {_rate(opened)} | {top_closed:,.0f} | {top_open:,.0f} |")
    return lines if len(lines) > 2 else []


def broker_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| payload | record bytes | records/s | MB/s | p50 ms | p99 ms | p99.9 ms |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in _runs(report, "kafka", lambda mode: mode == "producer-perf"):
        lines.append(
            f"| {row['payload']} | {row['record_size']:,} | {row['accepted_per_second']:,.0f} "
            f"| {row['megabytes_per_second']:,.2f} | {_ms(row, 'p50')} | {_ms(row, 'p99')} | {_ms(row, 'p99.9')} |"
        )
    return lines if len(lines) > 2 else []


TABLES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "closed loop": closed_table,
    "open loop": open_table,
    "relay lag": relay_table,
    "generator ceiling": ceiling_table,
    "broker ceiling": broker_table,
}


def missing_tables(report: dict[str, Any]) -> list[str]:
    """The tables that came out empty, or with a payload missing from them (the smoke run's check)."""
    missing = [name for name, table in TABLES.items() if not table(report)]
    expected = [(target, "closed") for target in _targets(report)] + [("kafka", "producer-perf")]
    if report["bridge"].get("not_run"):
        expected.remove(("bridge", "closed"))
    for payload in report["settings"]["payloads"]:
        for target, mode in expected:
            row = _find(report, payload, target, mode)
            if row is None or row["accepted_per_second"] <= 0:
                missing.append(f"{payload}: {target} {mode} accepted nothing")
    return missing


def markdown(report: dict[str, Any]) -> str:
    s, host, versions = report["settings"], report["machine"], report["versions"]
    closed, opened = s["closed_loop"], s["open_loop"]
    sizes = ", ".join(f"{name} {p['bytes']:,} B ({p['description']})" for name, p in s["payloads"].items())
    gateways = "; ".join(
        f"{g['target']}: {g['database']}, {g['instances']} process{'es' if g['instances'] > 1 else ''}"
        for g in s["gateways"]
    )
    commit = report["git"]["commit"][:12] + (" with uncommitted changes" if report["git"]["dirty"] else "")
    sections = [
        f"# Ingest benchmark ({report['date']}{', quick run' if s['quick'] else ''})",
        "",
        f"The gateway ({gateways}) beside the Strimzi Kafka Bridge {report['bridge']['version']} (producer "
        f"acks={s['bridge']['producer']['acks']}) and Kafka {versions['kafka']}'s ProducerPerformance (acks=all), one "
        f"broker, all on loopback; PostgreSQL: {s['postgresql']}. Payloads: {sizes}.",
        f"Machine: {host['cpu']}, {host['cores']} cores, {host['memory_gib']} GiB, {host['os']}; load average "
        f"{host['load_average_at_start']:.2f} at the start, {host.get('load_average_at_end', float('nan')):.2f} "
        "at the end "
        "(other work on the machine included). The broker, the gateway, the bridge and the load "
        f"generators share these cores. Commit {commit}.",
        f"Versions: Python {versions['python']}; {versions['java']}; {versions['wrk']}; {versions['go']}.",
        *(
            [f"**The Kafka Bridge was not run**: {report['bridge']['not_run']}"]
            if report["bridge"].get("not_run")
            else []
        ),
        "",
        f"## Closed loop (wrk, {closed['connections']} connections, {closed['threads']} threads, "
        f"{closed['seconds']:g} s)",
        "",
        *closed_table(report),
        "",
        f"## Open loop (bench/loadgen, fixed schedule, latency from the intended send time, {opened['seconds']:g} s "
        f"per rate, at most {opened['connections']} in flight)",
        "",
        *open_table(report),
        "",
        "## Relay lag: acceptance (event ce_time) to the event appended on Kafka (LogAppendTime)",
        "",
        *relay_table(report),
        "",
        f"## Generator ceiling on a trivial endpoint (a run under {s['void_factor']:g}x is void)",
        "",
        *ceiling_table(report),
        "",
        "## Broker ceiling: ProducerPerformance, acks=all, unthrottled",
        "",
        *broker_table(report),
        "",
        "Accepted: 2xx answers only; failed: non-2xx answers, socket errors and requests not sent in time. "
        "The gateway answers once the submission is committed to its database (the outbox), the bridge once "
        "Kafka acknowledged the record (acks=all).",
        "",
    ]
    return "\n".join(sections)
