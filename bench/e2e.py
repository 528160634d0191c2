"""End-to-end benchmark: declarations submitted at fixed rates to the whole single window, timed to their decision.

python -m bench.e2e            # full run: two kinds of declaration, 10, 25, 50 and 100 per second for 60 s each
python -m bench.e2e --quick    # smoke run of a minute or two, for CI: exits 1 if a table is empty or nothing is decided
python -m bench.e2e --profile  # and a py-spy of the gateway at each kind's highest rate held
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.conclusion import conclude
from bench.consumers.instances import py_spy, recording
from bench.consumers.profile import summarise, tables
from bench.ingest import generators, kafka_topics, processes
from bench.ingest.environment import describe
from bench.ingest.payloads import GOODS, PLACEHOLDER, TRADER_KEY, Goods, declaration_with
from bench.ingest.processes import CpuUsage
from bench.ingest.report import machine_cores
from deploy.stack import Stack, free_port_run

RESULTS = Path(__file__).resolve().parent / "results"
TOPIC_PREFIX = "e2e."
"""Topics of a kind's stack: this, the kind's number and a dot (a stack never reads what another left)."""
P99_BOUND_MS = 1000.0
"""The issue's bound: the highest rate sustained with p99 submit-to-decision under a second."""
TARGET, FLOOR = 1000.0, 300.0
WARMUP_SECONDS = 5.0
"""Each kind first runs this long at the lowest rate, not reported: every service has compiled and cached."""


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Kind:
    """A kind of declaration: its name, what it is, and its body with PLACEHOLDER in the LRN."""

    name: str
    description: str
    body: str


def kinds() -> list[Kind]:
    """Declarations only customs decides (manufactured goods), and ones both customs and plant health decide (cut
    flowers citing a certificate not lodged: plant health answers that it holds them for it)."""

    def declaration(goods: list[Goods], cite: bool) -> str:
        body = declaration_with(goods, lrn=f"LRN-E-{PLACEHOLDER}", cite_certificate=cite)
        return json.dumps(body, separators=(",", ":"))

    # Headings in customs' sample tariff (goods outside it are refused as unknown), none a plant product.
    manufactured = [g for g in GOODS if g[0][:4] in ("8471", "8517", "6109", "6403")]
    return [
        Kind(
            "customs",
            f"{len(manufactured)} goods items of manufactured goods: customs alone",
            declaration(manufactured, False),
        ),
        Kind(
            "customs+phyto",
            "1 goods item of cut roses citing a certificate: customs and plant health",
            declaration([GOODS[0]], True),
        ),
    ]


def _decided(data: dict[str, Any]) -> bool:
    """A clearance decision in which every required agency has answered: the single window's answer."""
    agencies = data.get("agencies") or []
    return bool(agencies) and all(standing.get("outcome") is not None for standing in agencies)


async def _read(bootstrap: str, topic: str, start: dict[int, int], within: float) -> list[Any]:
    """Every record of `topic` after `start`, up to its end offsets now (waiting at most `within` seconds)."""
    end = await kafka_topics.end_offsets(bootstrap, topic)
    partitions = [TopicPartition(topic, p) for p, offset in end.items() if offset > start.get(p, 0)]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start.get(tp.partition, 0))
        remaining = {tp: end[tp.partition] - start.get(tp.partition, 0) for tp in partitions}
        deadline = asyncio.get_running_loop().time() + within
        while any(count > 0 for count in remaining.values()) and asyncio.get_running_loop().time() < deadline:
            for tp, batch in (await consumer.getmany(timeout_ms=1000, max_records=5000)).items():
                records.extend(batch[: max(0, remaining[tp])])
                remaining[tp] -= len(batch)
    finally:
        await consumer.stop()
    return records


async def decisions(
    bootstrap: str, prefix: str, before: dict[str, dict[int, int]], accepted: int, within: float
) -> dict[str, Any]:
    """Wait until every declaration accepted in the run has its decision (or `within` seconds), then time each:
    the clearance record's LogAppendTime minus the acceptance time of its DeclarationSubmitted (its ce_time)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    lodged: dict[str, float] = {}
    decided: dict[str, float] = {}
    outcomes: dict[str, int] = {}
    while True:
        lodged.clear()
        decided.clear()
        outcomes.clear()
        for record in await _read(bootstrap, prefix + "declarations", before["declarations"], 30):
            headers = dict(record.headers)
            if headers.get("ce_type", b"").endswith(b"DeclarationSubmitted.v1"):
                at = datetime.fromisoformat(headers["ce_time"].decode()).timestamp() * 1000
                lodged[record.key.decode()] = at
        for record in await _read(bootstrap, prefix + "clearance", before["clearance"], 30):
            key = record.key.decode()
            data = json.loads(record.value)
            if key in lodged and key not in decided and _decided(data):
                decided[key] = record.timestamp
                outcomes[data["status"]] = outcomes.get(data["status"], 0) + 1
        if (len(lodged) >= accepted and len(decided) == len(lodged)) or loop.time() - began > within:
            break
        await asyncio.sleep(1.0)
    latencies = sorted(decided[key] - lodged[key] for key in decided)
    figures: dict[str, Any] = {
        "lodged": len(lodged),
        "decided": len(decided),
        "undecided": len(lodged) - len(decided),
        "outcomes": outcomes,
        "seconds_to_decide_all_after_load": round(loop.time() - began, 1),
    }
    if latencies:
        figures["decision_ms"] = {
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "max": latencies[-1],
        }
    return figures


async def offsets(bootstrap: str, prefix: str) -> dict[str, dict[int, int]]:
    return {name: await kafka_topics.end_offsets(bootstrap, prefix + name) for name in TIMED}


TIMED = ("declarations", "clearance")
"""The topics timed: the decision's LogAppendTime on the one, the lodgement's ce_time on the other."""


def measure(
    args: argparse.Namespace,
    loadgen: Path,
    stack: Stack,
    kind: Kind,
    rate: float,
    seconds: float,
    *,
    broker_pid: int | None = None,
) -> dict[str, Any]:
    """One rate: the schedule sent, then every accepted declaration waited for and timed to its decision; and the
    CPU each service (and the broker, given its pid) used meanwhile."""
    bootstrap, prefix = stack.bootstrap, stack.topic_prefix
    before = asyncio.run(offsets(bootstrap, prefix))
    pids: dict[str, list[int]] = {}
    for name, process in stack.processes.items():  # "gateway-2", another instance, counts with "gateway"
        pids.setdefault(name.partition("-")[0], []).append(process.pid)
    if broker_pid is not None:
        pids["broker"] = [broker_pid]
    usage = CpuUsage(pids)
    request = generators.Request(
        f"http://127.0.0.1:{stack.base_port}/v1/declarations",
        {"Content-Type": "application/json", "X-API-Key": TRADER_KEY},
        kind.body,
    )
    run_id = f"{uuid.uuid4().hex[:6]}{kind.name[:1]}{int(rate)}"
    sent = generators.open_loop(
        loadgen, request, rate=rate, seconds=seconds, connections=args.connections, run_id=run_id
    )
    decided = asyncio.run(decisions(bootstrap, prefix, before, sent["accepted"], args.drain_seconds))
    row = {"kind": kind.name, "offered_per_second": rate, "http": sent, **decided}
    row["cpu"] = usage.spent(decided["decided"])
    sustained = (
        decided["undecided"] == 0
        and sent["accepted"] == sent["scheduled"]
        and decided.get("decision_ms", {}).get("p99", float("inf")) + sent["latency_ms"]["p99"] < P99_BOUND_MS
    )
    row["sustained_under_bound"] = sustained
    p99 = decided.get("decision_ms", {}).get("p99")
    log(
        f"{kind.name:14} {rate:5g}/s offered: {sent['accepted']:,} accepted, {decided['decided']:,} decided, "
        f"HTTP p99 {sent['latency_ms']['p99']:.0f} ms, acceptance to decision p99 "
        f"{'-' if p99 is None else f'{p99:.0f}'} ms{'' if sustained else ' (not sustained under 1 s)'}"
    )
    return row


PROFILE_SECONDS = 30.0
PROFILE_RATE_HZ = 100


def profile_gateway(
    args: argparse.Namespace, loadgen: Path, stack: Stack, kind: Kind, rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """A run more, not in the tables, at the kind's highest rate sustained (else its lowest), while py-spy records
    the gateway: where its time goes at the rate that holds the window back. The account (`summarise`) and where
    the speedscope file is; None, logged, when py-spy recorded nothing (the run's figures are kept all the same)."""
    measured = [row for row in rows if row["kind"] == kind.name]
    sustained = [row["offered_per_second"] for row in measured if row["sustained_under_bound"]]
    rate = max(sustained, default=min(row["offered_per_second"] for row in measured))
    output = args.output / "profiles" / f"e2e-{kind.name}-gateway.speedscope.json"
    log(f"{kind.name}: py-spy of the gateway at {rate:g}/s for {PROFILE_SECONDS:g} s ...")
    with recording(stack.processes["gateway"].pid, output, form="speedscope", rate=PROFILE_RATE_HZ) as recorded:
        measure(args, loadgen, stack, kind, rate, PROFILE_SECONDS)
    if recorded.problem is not None:
        log(f"{kind.name}: no profile of the gateway: {recorded.problem}")
        return None
    return {
        "kind": kind.name,
        "offered_per_second": rate,
        "seconds": PROFILE_SECONDS,
        "file": str(output.relative_to(args.output)),
        "rate_hz": PROFILE_RATE_HZ,
        **summarise(json.loads(output.read_text(encoding="utf-8"))),
    }


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    loadgen = processes.build_loadgen()
    chosen = [kind for kind in kinds() if kind.name in args.kinds]
    rows: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="sw-bench-e2e-") as scratch,
        processes.broker(Path(scratch) / "kafka") as kafka,
    ):
        context = describe(processes.go_binary(), kafka.kafka_version, "not used")
        for number, kind in enumerate(chosen):  # a stack of its own for each kind, on topics of its own: no
            prefix = f"{TOPIC_PREFIX}{number}."  # backlog another kind's overload left is read or competes
            names = [prefix + name for name in TIMED]
            asyncio.run(kafka_topics.create_topics(kafka.bootstrap, names, log_append_time=True))
            stack = Stack(
                bootstrap=kafka.bootstrap,
                state_dir=Path(scratch) / f"stack-{number}",
                base_port=free_port_run(3),
                topic_prefix=prefix,
                extra_env=processes.gateway_settings(args.gateways),
            )
            try:
                stack.start(timeout=180)
                for instance in range(2, args.gateways + 1):
                    stack.start_instance("gateway", str(instance), stack.base_port, timeout=180)
                warm = measure(args, loadgen, stack, kind, min(args.rates), WARMUP_SECONDS)
                if warm["decided"] == 0:
                    raise processes.BenchmarkSetupError(f"{kind.name}: no declaration was decided: {warm}")
                for rate in args.rates:
                    rows.append(measure(args, loadgen, stack, kind, rate, args.seconds, broker_pid=kafka.pid))
                if args.profile and (profile := profile_gateway(args, loadgen, stack, kind, rows)) is not None:
                    profiles.append(profile)
            finally:
                stack.stop()
    context["machine"]["load_average_at_end"] = os.getloadavg()[0]
    return {
        "benchmark": "e2e",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **context,
        "settings": {
            "quick": args.quick,
            "kinds": {kind.name: kind.description for kind in chosen},
            "rates": args.rates,
            "seconds": args.seconds,
            "connections": args.connections,
            "drain_seconds": args.drain_seconds,
            "profile": f"py-spy of the gateway, {PROFILE_RATE_HZ} Hz, {PROFILE_SECONDS:g} s" if args.profile else None,
            "services": "gateway, customs and phyto as scripts/start.sh runs them (one process each, SQLite), the "
            "gateway's per-key rate limit raised; a fresh stack (processes and databases) for each kind"
            + (f"; {args.gateways} gateway processes sharing its port and SQLite file" if args.gateways > 1 else ""),
            "gateways": args.gateways,
            "gateway_changed_settings": processes.gateway_settings(args.gateways),
        },
        "runs": rows,
        "profiles": profiles,
        "elapsed_seconds": round(time.monotonic() - started, 1),
    }


def _ms(row: dict[str, Any], key: str) -> str:
    value = row.get("decision_ms", {}).get(key)
    return "-" if value is None else f"{value:,.0f}"


def table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| declarations | offered/s | accepted/s | HTTP p50 ms | HTTP p99 ms | decided | undecided | acceptance to "
        "decision p50 ms | p99 ms | max ms | outcomes | sustained, p99 under 1 s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for row in report["runs"]:
        http = row["http"]
        outcomes = ", ".join(f"{name} {count:,}" for name, count in sorted(row["outcomes"].items()))
        lines.append(
            f"| {row['kind']} | {row['offered_per_second']:,.0f} | {http['accepted_per_second']:,.0f} "
            f"| {http['latency_ms']['p50']:,.0f} | {http['latency_ms']['p99']:,.0f} | {row['decided']:,} "
            f"| {row['undecided']:,} | {_ms(row, 'p50')} | {_ms(row, 'p99')} | {_ms(row, 'max')} | {outcomes or '-'} "
            f"| {'yes' if row['sustained_under_bound'] else 'no'} |"
        )
    return lines if len(lines) > 2 else []


CPU_OF = ("gateway", "customs", "phyto", "broker")


def cpu_table(report: dict[str, Any]) -> list[str]:
    """What a declaration cost each process in CPU, and how busy the machine was, at each rate."""
    lines = [
        "| declarations | offered/s | "
        + " | ".join(f"{name} ms a declaration (cores)" for name in CPU_OF)
        + f" | machine busy (stolen), cores of {report['machine']['cores']} |",
        "|---|--:|" + "--:|" * (len(CPU_OF) + 1),
    ]
    for row in report["runs"]:
        cpu = row.get("cpu")
        if not cpu:
            continue
        cells = []
        for name in CPU_OF:
            used = cpu.get(name)
            per = None if used is None else used["ms_each"]
            cells.append("-" if per is None else f"{per:.2f} ({used['cores']:.2f})")
        cells.append(machine_cores(cpu))
        lines.append(f"| {row['kind']} | {row['offered_per_second']:,.0f} | {' | '.join(cells)} |")
    return lines if len(lines) > 2 else []


def _cpu_section(report: dict[str, Any]) -> list[str]:
    """The CPU table with what it shows; nothing for a run measured before the harness counted CPU."""
    rows = cpu_table(report)
    if not rows:
        return []
    return [
        "Where the CPU went at each rate, from the first request sent until the harness had read back every "
        "decision, or given up waiting (`cpu` in the JSON): each process's CPU time (user and system) over the "
        "declarations decided (`ms_each`), and over the span as cores; the machine's, all processes and interrupts, "
        "as cores (the load generator and this harness among them), and what the hypervisor took from it for other "
        "guests (steal). The broker's share includes the harness reading the topics back, and each share what a "
        "process spends idle (polling), which weighs more at a low rate. CPU a declaration moves less with the "
        "machine's speed than the rates do.",
        "",
        *rows,
        "",
    ]


def _profile_section(report: dict[str, Any]) -> list[str]:
    lines = []
    for profile in report.get("profiles", []):
        heading = (
            f"the gateway, {profile['kind']} at {profile['offered_per_second']:g}/s for {profile['seconds']:g} s "
            "and the decisions' drain"
        )
        if shown := tables(heading, profile):
            lines += [*shown, ""]
    return ["## Where the gateway's time goes (py-spy)", "", *lines] if lines else []


def highest(report: dict[str, Any], kind: str) -> float | None:
    rates = [r["offered_per_second"] for r in report["runs"] if r["kind"] == kind and r["sustained_under_bound"]]
    return max(rates, default=None)


def markdown(report: dict[str, Any]) -> str:
    s, host = report["settings"], report["machine"]
    commit = report["git"]["commit"][:12] + (" with uncommitted changes" if report["git"]["dirty"] else "")
    summary = []
    for kind in s["kinds"]:
        top = highest(report, kind)
        verdict = "none" if top is None else f"{top:,.0f}/s"
        summary.append(
            f"- {kind}: highest offered rate sustained with p99 submit-to-decision under 1 s: **{verdict}** (target "
            f"{TARGET:,.0f}/s, floor {FLOOR:,.0f}/s)."
        )
    return "\n".join(
        [
            f"# End-to-end benchmark ({report['date']}{', quick run' if s['quick'] else ''})",
            "",
            f"Declarations submitted on a fixed schedule (bench/loadgen, open loop, {s['seconds']:g} s per rate, at "
            f"most {s['connections']} in flight) to the whole single window: {s['services']}; one broker, all on "
            "loopback. Kinds: " + "; ".join(f"{name}: {what}" for name, what in s["kinds"].items()) + ".",
            f"Machine: {host['cpu']}, {host['cores']} cores, {host['memory_gib']} GiB; load average "
            f"{host['load_average_at_start']:.2f} at the start, {host.get('load_average_at_end', float('nan')):.2f} "
            f"at the end. Everything shares these cores. Commit {commit}.",
            "",
            *summary,
            "",
            *table(report),
            "",
            "HTTP: from the intended send time to the 201 (no coordinated omission). Acceptance to decision: from the "
            "DeclarationSubmitted's ce_time (set in the transaction that accepted it) to the broker's LogAppendTime "
            "of the first ClearanceDecided in which every required agency has answered. Submit to decision is at "
            "most the sum of the two; a rate counts as sustained when every scheduled request was accepted and "
            "decided and HTTP p99 + decision p99 is under 1 s.",
            "",
            *_cpu_section(report),
            *_profile_section(report),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run for CI")
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory of e2e.{json,md}")
    parser.add_argument(
        "--rates", type=lambda s: [float(r) for r in s.split(",")], help="offered rates (10,25,50,100; quick 10)"
    )
    parser.add_argument("--seconds", type=float, help="seconds per rate (60; quick 8)")
    parser.add_argument("--kinds", type=lambda s: s.split(","), help="customs,customs+phyto (both; quick customs)")
    parser.add_argument("--connections", type=int, default=256, help="most requests in flight (256)")
    parser.add_argument("--gateways", type=int, default=1, help="gateway processes sharing its port and database (1)")
    parser.add_argument("--drain-seconds", type=float, default=120, help="longest wait for the decisions after a run")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy of the gateway in a run more at each kind's highest rate held"
    )
    args = parser.parse_args(argv)
    if args.gateways < 1:
        parser.error("--gateways: one gateway process at least")
    if args.profile and py_spy() is None:
        parser.error("--profile needs py-spy (pip install -e '.[dev]' installs it)")
    args.rates = args.rates or ([10.0] if args.quick else [10.0, 25.0, 50.0, 100.0])
    args.seconds = args.seconds or (8.0 if args.quick else 60.0)
    args.kinds = args.kinds or (["customs"] if args.quick else [kind.name for kind in kinds()])
    return conclude("e2e", args.output, partial(benchmark, args), markdown, problems)


def problems(report: dict[str, Any]) -> list[str]:
    """Why the run fails: an empty table, or a rate at which nothing was decided."""
    found = [] if table(report) else ["empty table: no run measured"]
    undecided = [row for row in report["runs"] if not row["decided"]]
    return found + [f"{row['kind']} at {row['offered_per_second']:g}/s: nothing decided" for row in undecided]


if __name__ == "__main__":
    sys.exit(main())
