"""The processes the ingest benchmark starts on loopback: the Kafka broker (deploy/kafka/launch.py), the gateway
(deploy/stack.py), the Strimzi Kafka Bridge and the trivial endpoint (bench/loadgen in serve mode)."""

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from deploy.kafka.launch import LocalKafka
from deploy.stack import Stack
from tests.support.postgres import own_postgres

REPO = Path(__file__).resolve().parents[2]
KAFKA_LIB = REPO / ".local" / "kafka" / "lib"
CACHE = Path(os.environ.get("SW_BENCH_CACHE", REPO / ".local" / "bench"))
"""Built tools (the load generator, the Kafka Bridge), outside git."""
LOADGEN_SOURCE = REPO / "bench" / "loadgen"

GATEWAY_SETTINGS = {
    # The per-key rate limit (50/s by default) would cap every figure: the benchmark offers one key more.
    "SW_GATEWAY_RATE_LIMIT_PER_SECOND": "1000000",
    "SW_GATEWAY_RATE_LIMIT_BURST": "1000000",
}
"""What the benchmark changes in the gateway's settings; everything else is the default."""


class BenchmarkSetupError(RuntimeError):
    """Something the benchmark needs could not be built or started; the message says what and why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_loopback(url: str) -> str:
    """The URL itself, if its host is a loopback address: nothing else may be load-tested."""
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise BenchmarkSetupError(f"{url} is not on loopback; the benchmark only loads 127.0.0.1")
    return url


def wait_http(url: str, *, within: float, process: subprocess.Popen[bytes] | None = None, what: str) -> None:
    """Wait until GET url answers below 500, or fail naming `what` (and its exit code if it died)."""
    deadline = time.monotonic() + within
    while True:
        if process is not None and process.poll() is not None:
            raise BenchmarkSetupError(f"{what} exited with {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchmarkSetupError(f"{what} did not answer {url} within {within:.0f} s")
        time.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) the process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_and_stolen() -> tuple[float, float]:
    """The CPU time the machine's cores have spent so far running its processes and interrupts (not idle, not
    waiting for I/O), and the time the hypervisor took from them for other guests (steal), from /proc/stat."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in stat.readline().split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


class CpuUsage:
    """CPU time used by groups of processes, and by the whole machine, since this object was made: what each item
    of work (a request accepted, a declaration decided) cost where. A group's time counts only its processes'
    own threads: not the children they wait for, nor a database server they talk to."""

    def __init__(self, groups: Mapping[str, Sequence[int]]) -> None:
        self._groups = {name: list(pids) for name, pids in groups.items()}
        self._started = time.monotonic()
        self._used = {name: self._seconds(name) for name in self._groups}
        self._machine, self._stolen = machine_busy_and_stolen()

    def _seconds(self, name: str) -> float:
        return sum(cpu_seconds(pid) for pid in self._groups[name])

    def spent(self, items: int) -> dict[str, Any]:
        """For each group, for the machine, and stolen from it by the hypervisor: the CPU seconds since, in ms for
        each of `items` (None for none), and as cores of the span. A run with cores stolen ran on a slower
        machine than its neighbours in the table."""
        span = time.monotonic() - self._started
        used = {name: self._seconds(name) - before for name, before in self._used.items()}
        machine, stolen = machine_busy_and_stolen()
        used["machine"], used["stolen"] = machine - self._machine, stolen - self._stolen
        return {
            "span_seconds": round(span, 1),
            **{
                name: {
                    "seconds": round(seconds, 2),
                    "ms_each": round(1000 * seconds / items, 3) if items else None,
                    "cores": round(seconds / span, 2),
                }
                for name, seconds in used.items()
            },
        }


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def broker(home: Path) -> Iterator[LocalKafka]:
    """A broker of this run's own (fresh storage, free ports), sharing the project's jar cache."""
    kafka = LocalKafka(home=home, port=free_port(), controller_port=free_port(), lib_dir=KAFKA_LIB)
    with kafka:
        yield kafka


@dataclass(frozen=True)
class Gateway:
    url: str
    topic_prefix: str
    database_url: str
    pids: tuple[int, ...]  # of every instance, the first first

    @property
    def pid(self) -> int:
        """The first instance's."""
        return self.pids[0]


def gateway_settings(instances: int) -> dict[str, str]:
    """The gateway's settings a benchmark changes: `GATEWAY_SETTINGS`, and with more than one instance the port
    shared (SO_REUSEPORT: the kernel spreads the generator's connections among them)."""
    settings = dict(GATEWAY_SETTINGS)
    if instances > 1:
        settings["SW_GATEWAY_HTTP_REUSE_PORT"] = "true"
    return settings


@contextlib.contextmanager
def gateway(
    bootstrap: str, state_dir: Path, topic_prefix: str, database_url: str | None, *, instances: int = 1
) -> Iterator[Gateway]:
    """The gateway as the start command runs it (uvicorn, development keys seeded), on a free port; `instances`
    processes share the port (SO_REUSEPORT: the kernel spreads connections among them) and the database."""
    port = free_port()
    extra = gateway_settings(instances)
    if database_url:
        extra["SW_GATEWAY_DATABASE_URL"] = database_url
    stack = Stack(bootstrap=bootstrap, state_dir=state_dir, base_port=port, topic_prefix=topic_prefix, extra_env=extra)
    try:
        stack.start_service("gateway", timeout=120)
        for number in range(2, instances + 1):
            stack.start_instance("gateway", str(number), port, timeout=120)
        used = database_url or stack.environment(stack.services[0])["SW_GATEWAY_DATABASE_URL"]
        pids = tuple(process.pid for process in stack.processes.values())  # started in order: the first first
        yield Gateway(f"http://127.0.0.1:{port}", topic_prefix, used, pids)
    finally:
        stack.stop()


@contextlib.contextmanager
def postgres(database: str) -> Iterator[str]:
    """A PostgreSQL server of the run's own, durable as deployed (fsync and synchronous commit on), with an empty
    `database`: its SQLAlchemy URL. BenchmarkSetupError when PostgreSQL is not installed."""
    try:
        with own_postgres(durable=True) as server:
            admin = f"{server.admin_url}/postgres"
            subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{database}"'], check=True, capture_output=True)
            yield f"postgresql+asyncpg://{server.admin_url.split('://', 1)[1]}/{database}"
    except LookupError as error:
        raise BenchmarkSetupError(f"{error} (scripts/setup.sh installs it)") from error


def go_binary() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None)
    if go is None:
        raise BenchmarkSetupError("go is not installed; the open-loop generator (bench/loadgen) is built with it")
    return go


def build_loadgen() -> Path:
    """bench/loadgen built with `go build` into the cache (Go's own build cache makes a rebuild cheap)."""
    go = go_binary()
    target = CACHE / "bin" / "loadgen"
    target.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [go, "build", "-o", str(target), "."],
        cwd=LOADGEN_SOURCE,
        capture_output=True,
        text=True,
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off"},
        check=False,
    )
    if result.returncode != 0:
        raise BenchmarkSetupError(f"go build of bench/loadgen failed:\n{result.stdout}{result.stderr}")
    return target


@contextlib.contextmanager
def trivial_endpoint(loadgen: Path) -> Iterator[str]:
    """loadgen serve: 200 and a tiny body to any request, the endpoint the generators' ceiling is measured on."""
    process = subprocess.Popen(
        [str(loadgen), "serve", "-addr", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise BenchmarkSetupError(f"loadgen serve did not start: {line!r}")
        url = "http://" + line.removeprefix("listening on ")
        wait_http(url + "/", within=10, process=process, what="loadgen serve")
        yield url
    finally:
        stop_process(process)
