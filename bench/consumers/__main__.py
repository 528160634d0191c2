"""Consumer benchmark: decisions per second of the customs and phyto services, one instance and two in a group.

python -m bench.consumers            # full run, about 10 minutes
python -m bench.consumers --quick    # smoke run of a minute or two, for CI: exits 1 if a table is empty or a
                                     # decision is missing, duplicated or dead-lettered
"""

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.conclusion import conclude
from bench.consumers import instances as service_instances
from bench.consumers.kafka_io import DecisionReader, Decisions, create_topics, message_count, preload
from bench.consumers.profile import summarise
from bench.consumers.report import TARGET, markdown, problems
from bench.consumers.workload import Workload, build
from bench.ingest import processes
from bench.ingest.environment import describe
from bench.ingest.processes import cpu_seconds
from services.contract.events import Topic
from tests.support.postgres import own_postgres

RESULTS = Path(__file__).resolve().parents[1] / "results"
PROFILES = "profiles"
LIBRARIES = ("aiokafka", "sqlalchemy", "aiosqlite", "asyncpg", "pydantic", "orjson", "py-spy")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def final(agency: str) -> Any:
    """The decision that counts for a declaration: customs decides once; phyto may hold a declaration while it
    awaits a certificate, and decides again when the certificate comes, so its decision with none awaited counts."""
    if agency == "customs":
        return lambda _decision: True
    return lambda decision: not decision.get("details", {}).get("awaited_certificates")


def environment(kafka_version: str) -> dict[str, Any]:
    context = describe("go", kafka_version, "not used")
    context["machine"]["shared"] = "the broker, the service instances and the harness share these cores"
    versions = {k: v for k, v in context["versions"].items() if k in ("python", "java", "kafka")}
    for library in LIBRARIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[library] = importlib.metadata.version(library)
    context["versions"] = versions
    return context


class Databases:
    """A fresh database for each run: a SQLite file in the run's folder, or a database on a PostgreSQL server of
    the benchmark's own (durable as deployed: fsync and synchronous commit on)."""

    def __init__(self, admin_url: str | None) -> None:
        self._admin = admin_url

    def settings(self, agency: str, name: str) -> dict[str, str]:
        if self._admin is None:
            return {}  # the stack's SQLite file, new in the run's state folder
        admin = f"{self._admin}/postgres"
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        url = f"postgresql+asyncpg://{self._admin.split('://', 1)[1]}/{name}"
        return {f"SW_{agency.upper()}_DATABASE_URL": url}


@contextlib.contextmanager
def databases(kind: str) -> Iterator[Databases]:
    if kind == "sqlite":
        yield Databases(None)
        return
    try:
        with own_postgres(durable=True) as server:
            yield Databases(server.admin_url)
    except LookupError as error:
        raise processes.BenchmarkSetupError(f"{error} (scripts/setup.sh installs it)") from error


async def measure(
    args: argparse.Namespace,
    *,
    bootstrap: str,
    agency: str,
    count: int,
    workload: Workload,
    state: Path,
    database: dict[str, str],
    profile: Path | None,
) -> dict[str, Any]:
    """One run: pre-load the workload on fresh topics, start `count` instances reading from the beginning, and
    time the decisions on the decisions topic until every declaration has the one that counts."""
    prefix = f"bench.{agency}{count}.{uuid.uuid4().hex[:6]}."
    await create_topics(bootstrap, prefix, args.partitions)
    preloaded = await preload(bootstrap, prefix, workload.records)
    settings = {
        f"SW_{agency.upper()}_TOPIC_PARTITIONS": str(args.partitions),  # the topics it creates itself, as ours
        **database,
    }
    decisions = Decisions(set(workload.declaration_ids), final(agency))
    async with DecisionReader(bootstrap, prefix + Topic.DECISIONS.value, args.partitions, decisions) as reader:
        spawned = time.time()
        running = service_instances.start(
            agency,
            count,
            bootstrap=bootstrap,
            state_dir=state,
            prefix=prefix,
            settings=settings,
            profile=profile,
            profile_rate=args.profile_rate,
        )
        cpu_from_first: list[float] = []  # each instance's CPU time when the first decision was read
        decided_before = 0  # the declarations whose decision had been read by then: their CPU is not measured
        try:

            def alive() -> None:
                nonlocal decided_before
                for instance in running:
                    instance.check()
                if decisions.first_ms and not cpu_from_first:
                    cpu_from_first.extend(cpu_seconds(instance.pid) for instance in running)
                    decided_before = len(decisions.decided_at_ms)

            complete = await reader.until_complete(within=args.within, check=alive)
            used = sum(cpu_seconds(instance.pid) for instance in running) - sum(cpu_from_first)
            cpu = used if cpu_from_first else None  # all decided in the first fetch read: nothing measured
        finally:
            service_instances.stop(running)
        await reader.to_end()
    dead = {
        topic.value: await message_count(bootstrap, f"{prefix}{topic.value}.dlq", args.partitions)
        for topic in (Topic.DECLARATIONS, Topic.CERTIFICATES)
    }
    first = (decisions.first_ms or 0) / 1000
    done = max(decisions.decided_at_ms.values(), default=0) / 1000
    measured = done - first
    rate = (workload.declarations - 1) / measured if complete and measured > 0 else 0.0
    figures: dict[str, Any] = {
        "agency": agency,
        "instances": count,
        "complete": complete,
        "declarations": workload.declarations,
        "certificates": workload.certificates,
        "goods_items": workload.goods_items,
        "input_events": len(workload.records),
        "preload_seconds": round(preloaded, 3),
        "startup_seconds": round(first - spawned, 3) if decisions.first_ms else None,
        "measured_seconds": round(measured, 3),
        "declarations_per_second": round(rate, 1),
        "per_instance_per_second": round(rate / count, 1),
        "decisions_published": decisions.total,
        "decisions_per_second": round((decisions.total - 1) / measured, 1) if complete and measured > 0 else 0.0,
        "cpu_ms_per_declaration": (
            round(1000 * cpu / (workload.declarations - decided_before), 3) if complete and cpu else None
        ),
        "cores_used": round(cpu / measured, 2) if complete and cpu and measured > 0 else None,
        "outcomes": dict(sorted(decisions.outcomes.items())),
        "missing": decisions.missing,
        "duplicate_event_ids": decisions.duplicate_event_ids,
        "extra_decisions": sum(n - 1 for n in decisions.per_declaration.values()) if agency == "customs" else 0,
        "unexpected_records": decisions.unexpected,
        "dead_letters": dead,
        "assignments": {instance.name: service_instances.partitions_assigned(instance) for instance in running},
    }
    log(
        f"{agency} x{count}: {rate:,.0f} declarations/s ({rate / count:,.0f} per instance), startup "
        f"{figures['startup_seconds']} s, {decisions.total} decisions, {decisions.missing} missing"
    )
    return figures


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    now = datetime.now(UTC)
    runs: list[dict[str, Any]] = []
    profiles = args.output / PROFILES
    with tempfile.TemporaryDirectory(prefix="sw-bench-consumers-") as scratch, databases(args.database) as dbs:
        state = Path(scratch)
        with processes.broker(state / "kafka") as kafka:
            context = environment(kafka.kafka_version)
            for agency in args.agencies:
                log(f"{agency}: building {args.declarations:,} declarations ...")
                workload = build(args.declarations, plants=agency == "phyto", run_id=uuid.uuid4().hex[:6], now=now)
                for count in args.instances:
                    profile = None
                    if args.profile and count == 1:
                        profiles.mkdir(parents=True, exist_ok=True)
                        profile = profiles / f"consumers-{agency}.speedscope.json"
                        profile.unlink(missing_ok=True)
                    name = f"bench_{agency}_{count}_{uuid.uuid4().hex[:6]}"
                    log(f"{agency} x{count}: {workload.declarations:,} declarations, {len(workload.records):,} events")
                    figures = asyncio.run(
                        measure(
                            args,
                            bootstrap=kafka.bootstrap,
                            agency=agency,
                            count=count,
                            workload=workload,
                            state=state / name,
                            database=dbs.settings(agency, name),
                            profile=profile,
                        )
                    )
                    if profile is not None and profile.is_file():
                        figures["profile"] = {
                            "file": str(profile.relative_to(args.output)),
                            "rate_hz": args.profile_rate,
                            **summarise(json.loads(profile.read_text(encoding="utf-8"))),
                        }
                    runs.append(figures)
    context["machine"]["load_average_at_end"] = os.getloadavg()[0]
    return {
        "benchmark": "consumers",
        "date": now.isoformat(timespec="seconds"),
        **context,
        "target": TARGET,
        "settings": {
            "quick": args.quick,
            "declarations": args.declarations,
            "partitions": args.partitions,
            "instances": args.instances,
            "database": args.database,
            "profile": args.profile,
            "profile_rate_hz": args.profile_rate,
            "within_seconds": args.within,
            "service_settings": "defaults, but SW_<AGENCY>_TOPIC_PARTITIONS as --partitions; one consumer group "
            "per run, reading from the beginning",
        },
        "runs": runs,
        "elapsed_seconds": round(time.monotonic() - started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumers", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a minute or two, for CI")
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory of consumers.{json,md} and profiles/")
    parser.add_argument("--declarations", type=int, help="declarations per run (10000; quick 300)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of every topic of a run (4)")
    parser.add_argument(
        "--instances", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2], help="instance counts (1,2)"
    )
    parser.add_argument("--agencies", type=lambda s: s.split(","), default=list(service_instances.AGENCIES))
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="sqlite (a fresh file per run, the default) or postgres (a server of the run's own, a database per run)",
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="no py-spy of the 1-instance runs")
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second (100)")
    parser.add_argument("--within", type=float, help="longest wait for a run's decisions, seconds (600; quick 120)")
    args = parser.parse_args(argv)
    args.declarations = args.declarations or (300 if args.quick else 10_000)
    args.within = args.within or (120.0 if args.quick else 600.0)
    unknown = set(args.agencies) - set(service_instances.AGENCIES)
    if unknown:
        parser.error(f"--agencies: {', '.join(sorted(unknown))} unknown; of {','.join(service_instances.AGENCIES)}")
    return conclude("consumers", args.output, partial(benchmark, args), markdown, problems)


if __name__ == "__main__":
    sys.exit(main())
