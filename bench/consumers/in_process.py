"""What a consumer service spends on its declarations, counted in its own process: the service's batch handler run
on the consumer benchmark's workload in a fresh SQLite database, as its consumer runs it (a fetch's records decoded
and handled in one batch transaction), without Kafka: no fetch, no relay, no offsets.

python -m bench.consumers.in_process phyto                   # CPU ms a declaration (4,000 declarations)
python -m bench.consumers.in_process customs --instructions  # instructions a declaration, under valgrind's
                                                             # callgrind (1,000 declarations, a minute or two)

The machine's speed moves by a fifth from one minute to the next, and the CPU time a declaration with it; the
instructions a declaration move by a thousandth from one run to the next. That is the figure for comparing two
versions of the code (run it in a worktree of each); it does not see what a cache miss costs.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Table, func, select

from bench.consumers.workload import Record, build
from services.contract.cloudevents import decode
from services.contract.collector import settle
from services.contract.database import upgrade

AGENCIES = ("customs", "phyto")
BATCH = 200
"""Records a batch: as many as the consumer's fetch brings at most (`getmany(max_records=200)`)."""


@dataclasses.dataclass(frozen=True)
class Consumed:
    """A record as the consumer hands it to the service: where it came from (the inbox keeps it)."""

    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes]]
    value: bytes


@dataclasses.dataclass(frozen=True)
class Handled:
    declarations: int
    records: int
    decided: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def cpu_ms_per_declaration(self) -> float:
        return self.cpu_seconds / self.declarations * 1000


def _service(agency: str, directory: Path) -> tuple[Any, Path, Table]:
    """The agency's service on a database in `directory`, its migrations, and its decisions table."""
    database_url = f"sqlite+aiosqlite:///{directory / agency}.db"
    if agency == "phyto":
        from services.phyto import bootstrap as phyto
        from services.phyto.adapters import orm as phyto_tables
        from services.phyto.settings import PhytoSettings

        held = PhytoSettings(database_url=database_url, inspection_key=SecretStr(KEY))
        return phyto.bootstrap(held), phyto.MIGRATIONS, phyto_tables.decisions
    from services.customs import bootstrap as customs
    from services.customs.adapters import orm as customs_tables
    from services.customs.settings import CustomsSettings

    kept = CustomsSettings(database_url=database_url, selectivity_key=SecretStr(KEY))
    return customs.bootstrap(kept), customs.MIGRATIONS, customs_tables.decisions


KEY = "bench-in-process-draw-key"
"""The selection key of the run (a service would otherwise make a key file of its own in the working directory)."""


def consumed(records: list[Record], partitions: int = 4) -> list[Consumed]:
    """The records as the consumer would read them: each topic's in turn, offsets counted per partition."""
    offsets: dict[tuple[str, int], int] = {}
    read = []
    for topic in sorted({record.topic for record in records}):
        for index, record in enumerate(r for r in records if r.topic == topic):
            partition = index % partitions
            offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
            read.append(Consumed(topic, partition, offset, record.headers, record.value))
    return read


async def handle(agency: str, declarations: int, *, batch: int = BATCH, measured: Any = None) -> Handled:
    """Run the service's batch handler over a workload of `declarations`; `measured` (a context manager's factory)
    wraps the handling alone, not the start-up or the workload's making."""
    with tempfile.TemporaryDirectory(prefix="sw-in-process-") as directory:
        service, migrations, decisions = _service(agency, Path(directory))
        runtime = service.runtime
        await upgrade(runtime.engine, migrations)
        settings = runtime.settings
        settle(young_threshold=settings.gc_young_threshold, freeze=settings.gc_freeze_after_start)
        workload = build(declarations, plants=agency == "phyto", run_id="inproc", now=datetime.now(UTC))
        records = consumed(workload.records)
        handler = service.on_events
        try:
            with measured() if measured is not None else contextlib.nullcontext():
                started, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
                for first in range(0, len(records), batch):
                    async with runtime.transactions.batch():
                        await handler([(decode(r.headers, r.value), r) for r in records[first : first + batch]])
                wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
            async with runtime.engine.connect() as connection:
                decided = await connection.scalar(select(func.count(func.distinct(decisions.c.declaration_id))))
        finally:
            await runtime.engine.dispose()
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    return Handled(declarations, len(records), int(decided or 0), cpu, wall)


class _Instrumented:
    """Callgrind's instrumentation on while the handling runs, switched by the parent through stdin and stdout."""

    def __enter__(self) -> None:
        print(f"ready {os.getpid()}", flush=True)
        sys.stdin.readline()

    def __exit__(self, *_: object) -> None:
        print("done", flush=True)
        sys.stdin.readline()


def instructions(agency: str, declarations: int, batch: int) -> tuple[int, Handled]:
    """The instructions the handling took under callgrind (the start-up, not instrumented, is not counted)."""
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    if valgrind is None or control is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="sw-callgrind-") as directory:
        output = Path(directory) / "callgrind.out"
        command = [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={output}"]
        run = ["-m", "bench.consumers.in_process", agency, "--declarations", str(declarations), "--batch", str(batch)]
        child = subprocess.Popen(
            [*command, sys.executable, *run, "--instrumented"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdin is not None
        assert child.stdout is not None
        lines = iter(child.stdout.readline, "")
        for switch in ("on", "off"):
            line = next((line for line in lines if line.startswith(("ready", "done"))), "")
            if not line:
                raise SystemExit(f"the instrumented run ended early (exit {child.wait()})")
            subprocess.run([control, "-i", switch, str(child.pid)], check=True, capture_output=True)
            child.stdin.write("\n")
            child.stdin.flush()
        handled = Handled(**json.loads(child.stdout.read().splitlines()[-1]))  # the run's last line
        if child.wait() != 0:
            raise SystemExit(f"the instrumented run failed (exit {child.returncode})")
        totals = re.search(r"^totals: (\d+)", output.read_text(), re.MULTILINE)  # its "summary" may read 0
        if totals is None:
            raise SystemExit(f"no instruction count in {output}")
        return int(totals.group(1)), handled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("agency", choices=AGENCIES)
    parser.add_argument("--declarations", type=int, default=None, help="4000; with --instructions 1000")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"records a batch transaction ({BATCH})")
    parser.add_argument("--instructions", action="store_true", help="count instructions under valgrind's callgrind")
    parser.add_argument("--instrumented", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.instrumented:
        handled = asyncio.run(handle(args.agency, args.declarations, batch=args.batch, measured=_Instrumented))
        print(json.dumps(dataclasses.asdict(handled)), flush=True)
        return 0
    if args.instructions:
        count, handled = instructions(args.agency, args.declarations or 1000, args.batch)
        print(
            f"{args.agency}: {handled.declarations:,} declarations ({handled.records:,} records, "
            f"{handled.decided:,} decided): {count:,} instructions, {count / handled.declarations:,.0f} a declaration"
        )
    else:
        handled = asyncio.run(handle(args.agency, args.declarations or 4000, batch=args.batch))
        print(
            f"{args.agency}: {handled.declarations:,} declarations ({handled.records:,} records, "
            f"{handled.decided:,} decided) in {handled.wall_seconds:.2f} s: "
            f"{handled.cpu_ms_per_declaration:.3f} ms of CPU a declaration, "
            f"{handled.declarations / handled.wall_seconds:,.0f} a second"
        )
    return 0 if handled.decided == handled.declarations else 1


if __name__ == "__main__":
    sys.exit(main())
