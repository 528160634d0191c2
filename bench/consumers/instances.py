"""Service instances as processes, started as deploy/stack.py starts them (`python -m services.<agency>` with the
stack's environment), optionally under `py-spy record`, and stopped with SIGTERM as an operator would."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.ingest.processes import BenchmarkSetupError, free_port
from deploy.stack import REPO, Service, Stack, services

AGENCIES = ("customs", "phyto")


def py_spy() -> str | None:
    """The py-spy next to this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


@dataclass
class Recording:
    """What `recording` made: `problem` says why there is no profile (py-spy's own words), once the block is over."""

    problem: str | None = None


@contextlib.contextmanager
def recording(pid: int, output: Path, *, form: str, rate: int, gil: bool = False) -> Iterator[Recording]:
    """py-spy records the running process `pid` meanwhile, into `output` in `form` (raw: collapsed stacks;
    speedscope: its JSON), `rate` samples a second; with `gil`, only samples holding the GIL (where the CPU goes).
    Raises BenchmarkSetupError before the block when py-spy is not installed. When it wrote no profile (it could
    not attach to `pid`, say), the recording's `problem` says so: the block's own work stands."""
    spy = py_spy()
    if spy is None:
        raise BenchmarkSetupError("py-spy is not installed (pip install -e '.[dev]' installs it)")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    command = [spy, "record", "--pid", str(pid), "--format", form, "--rate", str(rate), "--output", str(output)]
    command += ["--nonblocking", *(["--gil"] if gil else [])]
    made = Recording()
    with tempfile.TemporaryFile() as said:
        recorder = subprocess.Popen(command, stdout=said, stderr=subprocess.STDOUT)
        try:
            yield made
        finally:
            recorder.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            try:
                recorder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
        if not output.is_file():
            said.seek(0)
            words = said.read().decode(errors="replace").strip()[-1000:]
            made.problem = f"py-spy wrote no profile of process {pid} (exit {recorder.returncode}): {words}"


@dataclass
class Instance:
    name: str
    process: subprocess.Popen[bytes]
    """The service, or py-spy recording it (then `pid` is the service's)."""
    pid: int
    log: Path
    profile: Path | None

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise BenchmarkSetupError(f"{self.name} exited with {self.process.returncode}:\n{tail}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the service (py-spy, if recording, then writes its profile and exits); killed if late."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _child_of(pid: int, within: float = 10) -> int:
    """The process that `pid` (py-spy) started: the service it records."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = children.read_text().split() if children.exists() else []
        if found:
            return int(found[0])
        time.sleep(0.05)
    raise BenchmarkSetupError(f"py-spy (pid {pid}) started no process within {within:.0f} s")


def start(
    agency: str,
    count: int,
    *,
    bootstrap: str,
    state_dir: Path,
    prefix: str,
    settings: dict[str, str],
    profile: Path | None = None,
    profile_rate: int = 100,
) -> list[Instance]:
    """`count` instances of `agency` in one consumer group, sharing one database (`settings` may name it; else the
    stack's fresh SQLite file in `state_dir`), all started at once; the first is recorded to `profile` if given."""
    base = next(service for service in services() if service.name == agency)
    stack = Stack(bootstrap=bootstrap, state_dir=state_dir, topic_prefix=prefix, extra_env=settings)
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    started: list[Instance] = []
    try:
        for number in range(1, count + 1):
            service = Service(f"{agency}-{number}", base.module, base.env_prefix, free_port(), database=agency)
            command = [sys.executable, "-m", service.module]
            recorded = profile if number == 1 else None
            if recorded is not None:
                spy = py_spy()
                if spy is None:
                    raise BenchmarkSetupError("py-spy is not installed (pip install py-spy); or run with --no-profile")
                rate = str(profile_rate)
                command = [spy, "record", "--nonblocking", "-r", rate, "-f", "speedscope", "-o", str(recorded), "--"]
                command += [sys.executable, "-m", service.module]
            log = stack.log_file(service.name)
            with log.open("ab") as output:
                process = subprocess.Popen(
                    command, cwd=REPO, env=stack.environment(service), stdout=output, stderr=subprocess.STDOUT
                )
            pid = _child_of(process.pid) if recorded is not None else process.pid
            started.append(Instance(service.name, process, pid, log, recorded))
    except BaseException:
        stop(started)
        raise
    return started


def stop(instances: list[Instance]) -> None:
    for instance in instances:
        instance.stop()


def partitions_assigned(instance: Instance) -> str:
    """The input partitions the instance was given last (its log has a line per rebalance), as "declarations 0,2"."""
    lines = [line for line in instance.log.read_text(errors="replace").splitlines() if "partitions assigned" in line]
    return assigned(lines[-1]) if lines else "(none logged)"


def assigned(line: str) -> str:
    """The input partitions of a "partitions assigned: p.declarations[0], p.inspections[0]" log line, as
    "declarations 0,2"."""
    listed = line.split("partitions assigned:", 1)[-1].split('"', 1)[0]
    numbers: dict[str, list[str]] = {}
    for partition in listed.split(","):
        topic, _, number = partition.strip().rstrip("]").partition("[")
        name = topic.rsplit(".", 1)[-1]
        if number and name in ("declarations", "certificates"):
            numbers.setdefault(name, []).append(number)
    return " ".join(f"{name} {','.join(found)}" for name, found in numbers.items()) or "-"
