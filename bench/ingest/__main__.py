"""Ingest benchmark: the gateway beside the Strimzi Kafka Bridge and Kafka's ProducerPerformance, one run.

python -m bench.ingest            # full run, about 9 minutes
python -m bench.ingest --quick    # smoke run of a minute or two, for CI: exits 1 if a table is empty
"""

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.conclusion import conclude
from bench.consumers.instances import py_spy, recording
from bench.ingest import bridge as kafka_bridge
from bench.ingest import generators, kafka_topics, processes
from bench.ingest.environment import describe
from bench.ingest.payloads import PLACEHOLDER, Payload, payloads
from bench.ingest.processes import CpuUsage
from bench.ingest.report import markdown, missing_tables

RESULTS = Path(__file__).resolve().parents[1] / "results"
VOID_FACTOR = 3.0
"""A run is void when its generator's ceiling on the trivial endpoint is under this many times its rate."""
TOPIC_PREFIX = "bench."
BRIDGE_TOPIC = "bench.bridge"
PERF_TOPIC = "bench.producer-performance"


@dataclass(frozen=True)
class GatewaySetup:
    """One way of running the gateway, measured as its own target (named in the tables)."""

    key: str  # as --gateways names it
    target: str
    database: str  # sqlite or postgresql
    instances: int


SETUPS = {
    setup.key: setup
    for setup in (
        GatewaySetup("sqlite", "gateway sqlite", "sqlite", 1),
        GatewaySetup("sqlite-x2", "gateway sqlite x2", "sqlite", 2),
        GatewaySetup("postgres", "gateway postgres", "postgresql", 1),
        GatewaySetup("postgres-x2", "gateway postgres x2", "postgresql", 2),
    )
}
"""The development default (a SQLite file, one process), and two processes sharing the port on that file (they
take turns at it: `sqlite_turns`); PostgreSQL as docker-compose deploys it, with one process and with two."""
QUICK_SETUPS = ("sqlite", "sqlite-x2", "postgres-x2")


def is_gateway(target: str) -> bool:
    return target.startswith("gateway")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def gateway_request(gateway: processes.Gateway, payload: Payload) -> generators.Request:
    headers = {"Content-Type": payload.content_type, "X-API-Key": payload.api_key}
    return generators.Request(gateway.url + payload.path, headers, payload.body)


def bridge_request(bridge: kafka_bridge.Bridge, payload: Payload) -> generators.Request:
    headers = {"Content-Type": payload.bridge_content_type}
    return generators.Request(f"{bridge.url}/topics/{BRIDGE_TOPIC}", headers, payload.bridge_body)


def check_once(request: generators.Request, what: str) -> None:
    """One request before the load, so that a refused payload fails the run with the server's answer."""
    body = request.body.replace(PLACEHOLDER, f"preflight{uuid.uuid4().hex[:12]}").encode()
    sent = urllib.request.Request(request.url, data=body, headers=request.headers, method="POST")
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            if 200 <= response.status < 300:
                return
            raise processes.BenchmarkSetupError(f"{what} answered {response.status} to {request.url}")
    except urllib.error.HTTPError as error:
        answer = error.read().decode(errors="replace")[:2000]
        raise processes.BenchmarkSetupError(f"{what} refused the payload ({error.code}): {answer}") from error


def topic_of(payload: Payload) -> str:
    return TOPIC_PREFIX + ("certificates" if payload.path == "/v1/certificates" else "declarations")


class Run:
    """Measures one target at a time, and for the gateway reads the relay lag of what it accepted."""

    def __init__(self, args: argparse.Namespace, bootstrap: str, loadgen: Path, broker_pid: int | None) -> None:
        self.args = args
        self.bootstrap = bootstrap
        self.loadgen = loadgen
        self.broker_pid = broker_pid
        self.runs: list[dict[str, Any]] = []
        self.run_id = uuid.uuid4().hex[:6]
        self.sequence = 0

    def next_id(self) -> str:
        self.sequence += 1
        return f"{self.run_id}r{self.sequence}"

    def closed(self, request: generators.Request, seconds: float, target_pids: Sequence[int] = ()) -> dict[str, Any]:
        """A closed-loop run; given the target's processes, also the CPU they and the broker used meanwhile."""
        groups = {"target": target_pids, **({"broker": [self.broker_pid]} if self.broker_pid else {})}
        usage = CpuUsage(groups) if target_pids else None
        figures = generators.wrk(
            request,
            connections=self.args.connections,
            threads=self.args.threads,
            seconds=seconds,
            run_id=self.next_id(),
        )
        if usage is not None:
            figures["cpu"] = usage.spent(figures["accepted"])
        return figures

    def open(self, request: generators.Request, rate: float, seconds: float) -> dict[str, Any]:
        return generators.open_loop(
            self.loadgen,
            request,
            rate=rate,
            seconds=seconds,
            connections=self.args.open_connections,
            run_id=self.next_id(),
        )

    def record(self, payload: Payload, target: str, mode: str, figures: dict[str, Any]) -> None:
        figures = {"payload": payload.name, "target": target, "mode": mode, **figures}
        rate = figures["accepted_per_second"]
        latency = figures.get("latency_ms", {})
        log(
            f"{payload.name:9} {target:19} {mode:14} {rate:9,.0f}/s  p50 {latency.get('p50', float('nan')):8.1f} ms"
            f"  p99 {latency.get('p99', float('nan')):8.1f} ms  non-2xx {figures.get('non_2xx', 0)}"
        )
        self.runs.append(figures)

    def measured_gateway(self, payload: Payload, target: str, mode: str, measure: Callable[[], dict[str, Any]]) -> None:
        """Run `measure`, wait for the relay to publish what was accepted, and add the relay lag."""
        topic = topic_of(payload)
        before = asyncio.run(kafka_topics.settle(self.bootstrap, topic, self.args.drain_seconds))
        figures = measure()
        drained = asyncio.run(
            kafka_topics.wait_published(self.bootstrap, topic, before, figures["accepted"], self.args.drain_seconds)
        )
        after = asyncio.run(kafka_topics.end_offsets(self.bootstrap, topic))
        lag = asyncio.run(kafka_topics.relay_lag(self.bootstrap, topic, before, after))
        figures["relay"] = {"seconds_to_drain_after_load": drained, **lag}
        self.record(payload, target, mode, figures)


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    loadgen = processes.build_loadgen()
    try:
        bridge_home: Path | None = kafka_bridge.ensure_bridge()
        bridge_missing = None
    except processes.BenchmarkSetupError as error:
        bridge_home, bridge_missing = None, str(error)
        log(f"the Kafka Bridge is not run: {bridge_missing}")
    chosen = [p for p in payloads() if p.name in args.payloads]
    with tempfile.TemporaryDirectory(prefix="sw-bench-ingest-") as scratch:
        state = Path(scratch)
        with processes.broker(state / "kafka") as kafka:
            context = describe(processes.go_binary(), kafka.kafka_version, kafka_bridge.version())
            gateway_topics = [TOPIC_PREFIX + "declarations", TOPIC_PREFIX + "certificates"]
            asyncio.run(kafka_topics.create_topics(kafka.bootstrap, gateway_topics, log_append_time=True))
            asyncio.run(kafka_topics.create_topics(kafka.bootstrap, [BRIDGE_TOPIC, PERF_TOPIC], log_append_time=False))
            run = Run(args, kafka.bootstrap, loadgen, kafka.pid)

            log("generator ceilings on the trivial endpoint ...")
            with processes.trivial_endpoint(loadgen) as trivial:
                for payload in chosen:
                    request = generators.Request(trivial + "/", {"Content-Type": payload.content_type}, payload.body)
                    run.record(payload, "trivial", "closed ceiling", run.closed(request, args.ceiling_seconds))
                    figures = run.open(request, 0, args.ceiling_seconds)
                    run.record(payload, "trivial", "open ceiling", figures)

            peer_running = (
                kafka_bridge.bridge(bridge_home, kafka.bootstrap, state / "bridge")
                if bridge_home is not None
                else contextlib.nullcontext(None)
            )
            with peer_running as peer:
                if peer is not None and args.jvm_warmup_seconds:
                    # The first payload would otherwise meet the bridge's JIT still compiling: slower, longer tails.
                    log(f"bridge: JVM warming up on every payload, {args.jvm_warmup_seconds:g} s ...")
                    for payload in chosen:
                        run.closed(bridge_request(peer, payload), args.jvm_warmup_seconds / len(chosen))
                for payload in chosen:
                    if peer is None:
                        break
                    to_bridge = bridge_request(peer, payload)
                    check_once(to_bridge, "the Kafka Bridge")
                    log(f"{payload.name}: bridge warming up ...")
                    run.closed(to_bridge, args.warmup_seconds)
                    run.record(payload, "bridge", "closed", run.closed(to_bridge, args.seconds, [peer.pid]))
                    for rate in args.rates:
                        run.record(payload, "bridge", f"open {rate:g}/s", run.open(to_bridge, rate, args.open_seconds))
            for setup in args.gateways:
                with (
                    gateway_database(setup, args.database_url) as url,
                    processes.gateway(
                        kafka.bootstrap, state / f"stack-{setup.key}", TOPIC_PREFIX, url, instances=setup.instances
                    ) as gateway,
                ):
                    for payload in chosen:
                        to_gateway = gateway_request(gateway, payload)
                        check_once(to_gateway, f"the {setup.target}")
                        log(f"{payload.name}: {setup.target} warming up ...")
                        run.closed(to_gateway, args.warmup_seconds)
                        closed = partial(run.closed, to_gateway, args.seconds, gateway.pids)
                        with profiled(args, gateway.pid, f"ingest-{setup.key}-{payload.name}"):
                            run.measured_gateway(payload, setup.target, "closed", closed)
                        for rate in args.rates:
                            opened = partial(run.open, to_gateway, rate, args.open_seconds)
                            run.measured_gateway(payload, setup.target, f"open {rate:g}/s", opened)

            log("ProducerPerformance ...")
            for payload in chosen:
                figures = generators.producer_performance(
                    kafka.bootstrap, PERF_TOPIC, records=args.perf_records, record_size=payload.size
                )
                run.record(payload, "kafka", "producer-perf", figures)

    mark_void(run.runs)
    context["machine"]["load_average_at_end"] = os.getloadavg()[0]
    return {
        "benchmark": "ingest",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **context,
        "bridge": {
            "version": kafka_bridge.version(),
            "installed_from": kafka_bridge.origin_of(bridge_home) if bridge_home is not None else None,
            "not_run": bridge_missing,
        },
        "settings": {
            "quick": args.quick,
            "payloads": {p.name: {"description": p.description, "bytes": p.size} for p in chosen},
            "closed_loop": {"connections": args.connections, "threads": args.threads, "seconds": args.seconds},
            "open_loop": {"rates": args.rates, "seconds": args.open_seconds, "connections": args.open_connections},
            "warmup_seconds": args.warmup_seconds,
            "bridge_jvm_warmup_seconds": args.jvm_warmup_seconds,
            "ceiling_seconds": args.ceiling_seconds,
            "producer_performance_records": args.perf_records,
            "void_factor": VOID_FACTOR,
            "gateways": [
                {"target": setup.target, "database": setup.database, "instances": setup.instances}
                for setup in args.gateways
            ],
            "gateway_changed_settings": processes.GATEWAY_SETTINGS,
            "gateway_profiles": "py-spy, closed loop, in profiles/" if args.profile else None,
            "postgresql": "the run's own server, fsync and synchronous_commit on"
            if args.database_url is None
            else "given by --database-url",
            "bridge": {"producer": kafka_bridge.PRODUCER_SETTINGS, "topic_partitions": kafka_topics.PARTITIONS},
        },
        "runs": run.runs,
        "elapsed_seconds": time.monotonic() - started,
    }


@contextlib.contextmanager
def profiled(args: argparse.Namespace, pid: int, name: str) -> Iterator[None]:
    """With --profile, py-spy records `pid` meanwhile (samples holding the GIL: where the CPU goes), as collapsed
    stacks in profiles/<name>.txt beside the results (flamegraph.pl or speedscope read them)."""
    if not args.profile:
        yield
        return
    if py_spy() is None:
        log("py-spy is not installed: no profile (pip install -e '.[dev]' installs it)")
        yield
        return
    with recording(pid, args.output / "profiles" / f"{name}.txt", form="raw", rate=200, gil=True) as recorded:
        yield
    if recorded.problem is not None:
        log(f"no profile {name}: {recorded.problem}")


@contextlib.contextmanager
def gateway_database(setup: GatewaySetup, given: str | None) -> Iterator[str | None]:
    """The database URL for `setup`: None for SQLite (the stack's fresh file), else `given` or a database of a
    PostgreSQL server of the run's own."""
    if setup.database == "sqlite":
        yield None
    elif given is not None:
        yield given
    else:
        with processes.postgres(f"bench_{setup.key.replace('-', '_')}") as url:
            yield url


def mark_void(runs: list[dict[str, Any]]) -> None:
    """A measured run is void when its generator could not do 3x its rate against the trivial endpoint."""
    ceilings = {
        (r["payload"], r["mode"].split()[0]): r["accepted_per_second"] for r in runs if r["target"] == "trivial"
    }
    for r in runs:
        if r["target"] == "bridge" or is_gateway(r["target"]):
            kind = "closed" if r["mode"] == "closed" else "open"
            ceiling = ceilings.get((r["payload"], kind))
            r["generator_ceiling_per_second"] = ceiling
            r["void"] = ceiling is None or ceiling < VOID_FACTOR * r["accepted_per_second"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a minute or two, for CI")
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory of ingest.{json,md}")
    parser.add_argument("--connections", type=int, default=32, help="closed loop: requests in flight (32)")
    parser.add_argument("--threads", type=int, default=2, help="closed loop: wrk threads (2)")
    parser.add_argument("--seconds", type=float, help="closed loop: seconds per run (15, quick 4)")
    parser.add_argument(
        "--rates",
        type=lambda s: [float(r) for r in s.split(",")],
        help="open loop: offered rates, comma-separated (25,50,100; quick 50)",
    )
    parser.add_argument("--open-seconds", type=float, help="open loop: seconds per rate (12, quick 4)")
    parser.add_argument("--open-connections", type=int, default=256, help="open loop: most in flight (256)")
    parser.add_argument("--warmup-seconds", type=float, help="closed-loop warm-up per target and payload (3, quick 1)")
    parser.add_argument(
        "--jvm-warmup-seconds",
        type=float,
        help="closed-loop warm-up of the bridge's JVM, shared by the payloads, before any of them (30, quick 0)",
    )
    parser.add_argument("--ceiling-seconds", type=float, help="generator ceiling runs (8, quick 2)")
    parser.add_argument(
        "--perf-records", type=int, help="ProducerPerformance records per payload (100000, quick 10000)"
    )
    parser.add_argument("--drain-seconds", type=float, default=120, help="longest wait for the relay to publish")
    parser.add_argument(
        "--gateways",
        type=lambda given: [SETUPS[key] for key in given.split(",")],
        help=f"gateway setups to measure, comma-separated, of {','.join(SETUPS)} (all; quick {','.join(QUICK_SETUPS)})",
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL for the postgres setups (default: a durable server of the run's own)"
    )
    parser.add_argument("--payloads", default="small,realistic,ephyto", type=lambda s: s.split(","))
    parser.add_argument(
        "--profile", action="store_true", help="py-spy profiles of the gateway in each closed-loop run, in profiles/"
    )
    args = parser.parse_args(argv)
    args.gateways = args.gateways or [
        SETUPS[key] for key in (("sqlite", "sqlite-x2", "postgres-x2") if args.quick else SETUPS)
    ]
    args.seconds = args.seconds or (4.0 if args.quick else 15.0)
    args.rates = args.rates or ([50.0] if args.quick else [25.0, 50.0, 100.0])
    args.open_seconds = args.open_seconds or (4.0 if args.quick else 12.0)
    args.warmup_seconds = args.warmup_seconds or (1.0 if args.quick else 3.0)
    if args.jvm_warmup_seconds is None:
        args.jvm_warmup_seconds = 0.0 if args.quick else 30.0
    args.ceiling_seconds = args.ceiling_seconds or (2.0 if args.quick else 8.0)
    args.perf_records = args.perf_records or (10_000 if args.quick else 100_000)

    return conclude(
        "ingest",
        args.output,
        partial(benchmark, args),
        markdown,
        lambda report: [f"empty table: {problem}" for problem in missing_tables(report)],
    )


if __name__ == "__main__":
    sys.exit(main())
