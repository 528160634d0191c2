"""Run a real single-node Apache Kafka (KRaft) broker from its Maven Central jars.

No Docker needed: Maven fetches ``org.apache.kafka:kafka_2.13`` (see ``pom.xml``
beside this file) into a lib folder once, then the broker runs as a plain
``java`` child process bound to 127.0.0.1.

Standard library only, so it works before the project's virtualenv exists.

Library use::

    from deploy.kafka.launch import LocalKafka

    with LocalKafka(port=29092, controller_port=29093) as kafka:
        print(kafka.bootstrap)          # "127.0.0.1:29092"

Command line::

    python deploy/kafka/launch.py start|stop|status|run [--port N] [--home DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # Self is 3.11+; keep the launcher importable on older Pythons
    from typing import Self

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
POM = HERE / "pom.xml"
PROPERTIES_TEMPLATE = HERE / "server.properties"
LOG4J_CONFIG = HERE / "log4j2.properties"
DEFAULT_HOME = REPO_ROOT / ".local" / "kafka"
HOST = "127.0.0.1"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
NODE_ID = 1

__all__ = [
    "LocalKafka",
    "LocalKafkaError",
    "kafka_ready",
    "probe_api_versions",
    "probe_metadata",
]


def with_overrides(text: str, overrides: dict[str, str]) -> str:
    """Properties text with each overridden key's value replaced where it stands and new keys appended."""
    if not overrides:
        return text
    pending = dict(overrides)
    out = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in pending:
            line = f"{key}={pending.pop(key)}"
        out.append(line)
    out += [f"{key}={value}" for key, value in pending.items()]
    return "\n".join(out) + "\n"


class LocalKafkaError(RuntimeError):
    """The local broker could not be provisioned, started or stopped."""


# --------------------------------------------------------------------------
# Minimal Kafka wire protocol, just enough to tell whether a broker is usable.
# Request header v1: api_key int16, api_version int16, correlation_id int32,
# client_id nullable string. Response header v0: correlation_id int32.
# --------------------------------------------------------------------------

API_METADATA = 3
API_API_VERSIONS = 18
# Metadata v0-v3 were removed in Kafka 4.0 (KIP-896); v9+ use the flexible
# (tagged field) encoding. v4-v8 are plain and supported by Kafka 1.0 - 4.x.
_METADATA_PLAIN_VERSIONS = range(4, 9)
_CLIENT_ID = b"local-kafka-probe"


class MetadataInfo(TypedDict):
    version: int  # Metadata request version used
    brokers: list[tuple[int, str | None, int]]  # (node_id, host, port)
    cluster_id: str | None
    controller_id: int


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def int16(self) -> int:
        return self.take(">h")

    def int32(self) -> int:
        return self.take(">i")

    def string(self) -> str | None:
        length = self.int16()
        if length < 0:
            return None
        raw = self.data[self.pos : self.pos + length]
        if len(raw) != length:
            raise struct.error("truncated string")
        self.pos += length
        return raw.decode("utf-8")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return bytes(buf)


def _roundtrip(sock: socket.socket, api_key: int, version: int, correlation_id: int, body: bytes) -> _Reader:
    header = struct.pack(">hhih", api_key, version, correlation_id, len(_CLIENT_ID)) + _CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    reader = _Reader(_recv_exact(sock, size))
    got = reader.int32()
    if got != correlation_id:
        raise ConnectionError(f"correlation id mismatch: sent {correlation_id}, got {got}")
    return reader


def _api_versions(sock: socket.socket) -> dict[int, tuple[int, int]]:
    r = _roundtrip(sock, API_API_VERSIONS, 0, 1, b"")
    error_code = r.int16()
    if error_code != 0:
        raise ConnectionError(f"ApiVersions error_code={error_code}")
    apis: dict[int, tuple[int, int]] = {}
    for _ in range(r.int32()):
        key, lo, hi = r.int16(), r.int16(), r.int16()
        apis[key] = (lo, hi)
    return apis


def _metadata(sock: socket.socket, apis: dict[int, tuple[int, int]]) -> MetadataInfo:
    lo, hi = apis.get(API_METADATA, (0, -1))
    versions = [v for v in _METADATA_PLAIN_VERSIONS if lo <= v <= hi]
    if not versions:
        raise ConnectionError(f"broker supports no plain Metadata version (range {lo}..{hi})")
    version = versions[0]
    # topics: empty array (= no topics, just brokers); allow_auto_topic_creation
    body = struct.pack(">ib", 0, 0)
    if version >= 8:
        # include_cluster_authorized_operations, include_topic_authorized_operations
        body += struct.pack(">bb", 0, 0)
    r = _roundtrip(sock, API_METADATA, version, 2, body)
    r.int32()  # throttle_time_ms
    brokers: list[tuple[int, str | None, int]] = []
    for _ in range(r.int32()):
        node_id, host, port, _rack = r.int32(), r.string(), r.int32(), r.string()
        brokers.append((node_id, host, port))
    cluster_id = r.string()
    controller_id = r.int32()
    return {
        "version": version,
        "brokers": brokers,
        "cluster_id": cluster_id,
        "controller_id": controller_id,
    }


def probe_api_versions(host: str, port: int, timeout: float = 2.0) -> dict[int, tuple[int, int]]:
    """Send ApiVersions v0; return {api_key: (min, max)}. Raises OSError/ConnectionError."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        return _api_versions(sock)


def probe_metadata(host: str, port: int, timeout: float = 2.0) -> MetadataInfo:
    """ApiVersions v0 then Metadata (v4..v8, no topics).

    Returns ``{"version", "brokers": [(node_id, host, port)], "cluster_id", "controller_id"}``.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        apis = _api_versions(sock)
        return _metadata(sock, apis)


def kafka_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when a Kafka broker answers ApiVersions and lists at least one live broker."""
    try:
        return bool(probe_metadata(host, port, timeout)["brokers"])
    except (OSError, ConnectionError, struct.error, UnicodeDecodeError):
        return False


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is as good as dead
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Java's server sockets use SO_REUSEADDR, so TIME_WAIT leftovers are fine.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int) -> list[str]:
    try:
        with path.open("r", errors="replace") as fh:
            return list(deque(fh, maxlen=lines))
    except OSError:
        return []


def _default_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    return "java"


def _pom_kafka_version() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    version = (node.text or "").strip() if node is not None else ""
    if not version:
        raise LocalKafkaError(f"no <kafka.version> property in {POM}")
    return version


# --------------------------------------------------------------------------
# The broker
# --------------------------------------------------------------------------


class LocalKafka:
    """A single combined broker+controller KRaft node on 127.0.0.1.

    State layout under ``home``::

        lib/                jars (unless ``lib_dir`` points elsewhere)
        server.properties   generated from the template on every start
        data/               Kafka log dir (formatted once, kept across restarts)
        logs/server.log     broker log (INFO, rolling)
        broker.out          JVM stdout/stderr (WARN+ only)
        broker.pid          pid of the running broker (also its process group)
    """

    def __init__(
        self,
        home: Path | str | None = None,
        port: int = 19092,
        controller_port: int = 19093,
        heap: str = "512m",
        *,
        lib_dir: Path | str | None = None,
        kafka_version: str | None = None,
        extra_properties: dict[str, str] | None = None,
        java: str | None = None,
        mvn: str | None = None,
    ) -> None:
        self.home = Path(home or os.environ.get("LOCAL_KAFKA_HOME") or DEFAULT_HOME).resolve()
        self.port = int(port)
        self.controller_port = int(controller_port)
        if self.port == self.controller_port:
            raise ValueError("port and controller_port must differ")
        self.heap = heap
        self.lib_dir = Path(lib_dir).resolve() if lib_dir else self.home / "lib"
        self.kafka_version_override = kafka_version or os.environ.get("LOCAL_KAFKA_VERSION") or None
        self.extra_properties = dict(extra_properties or {})
        self.java = java or os.environ.get("LOCAL_KAFKA_JAVA") or _default_java()
        self.mvn = mvn or os.environ.get("LOCAL_KAFKA_MVN") or "mvn"
        self.data_dir = self.home / "data"
        self.logs_dir = self.home / "logs"
        self.properties_file = self.home / "server.properties"
        self.pid_file = self.home / "broker.pid"
        self.out_file = self.home / "broker.out"
        self._proc: subprocess.Popen[bytes] | None = None
        self._owned = False  # True when this object launched the running broker

    # ---- public properties -------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def kafka_version(self) -> str:
        return self.kafka_version_override or _pom_kafka_version()

    @property
    def pid(self) -> int | None:
        """Pid of the broker recorded in the pid file, if that process is alive and is ours."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not _pid_alive(pid):
            return None
        cmd = _cmdline(pid)
        if cmd and (MAIN_CLASS not in cmd or str(self.properties_file) not in cmd):
            return None  # pid was recycled by an unrelated process
        return pid

    # ---- provisioning ------------------------------------------------------

    def _jar_marker(self) -> Path:
        return self.lib_dir / ".local-kafka-complete"

    def _jar_stamp(self) -> str:
        digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:16]
        return f"kafka={self.kafka_version} pom={digest}"

    def _jars_present(self) -> bool:
        try:
            stamp = self._jar_marker().read_text().strip()
        except OSError:
            return False
        return stamp == self._jar_stamp() and (self.lib_dir / f"kafka_2.13-{self.kafka_version}.jar").is_file()

    def ensure_jars(self) -> Path:
        """Make sure ``lib_dir`` holds the Kafka jars; fetch them with Maven the first time."""
        if self._jars_present():
            return self.lib_dir
        import fcntl  # POSIX only; imported here so the module still imports elsewhere

        self.lib_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lib_dir / ".lock", "w") as lock:
            # another process may be fetching into the same folder right now
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._jars_present():
                return self.lib_dir
            if shutil.which(self.mvn) is None:
                raise LocalKafkaError(f"'{self.mvn}' not found on PATH; Maven is needed to fetch the Kafka jars")
            print(
                f"local-kafka: fetching Apache Kafka {self.kafka_version} jars from Maven Central "
                f"into {self.lib_dir} ...",
                file=sys.stderr,
                flush=True,
            )
            self._jar_marker().unlink(missing_ok=True)
            for old in self.lib_dir.glob("*.jar"):
                old.unlink()
            cmd = [
                self.mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.lib_dir}",
            ]
            if self.kafka_version_override:
                cmd.append(f"-Dkafka.version={self.kafka_version_override}")
            result = subprocess.run(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                tail = "\n".join(result.stdout.splitlines()[-40:])
                raise LocalKafkaError(f"Maven failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")
            if not (self.lib_dir / f"kafka_2.13-{self.kafka_version}.jar").is_file():
                raise LocalKafkaError(f"Maven ran but kafka_2.13-{self.kafka_version}.jar is not in {self.lib_dir}")
            self._jar_marker().write_text(self._jar_stamp() + "\n")
        return self.lib_dir

    def render_properties(self) -> str:
        """The final server.properties text for this instance."""
        text = string.Template(PROPERTIES_TEMPLATE.read_text()).substitute(
            port=self.port, controller_port=self.controller_port, log_dir=self.data_dir
        )
        return with_overrides(text, self.extra_properties)

    def write_properties(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(self.render_properties())
        return self.properties_file

    def _java_base(self) -> list[str]:
        if shutil.which(self.java) is None:
            raise LocalKafkaError(f"'{self.java}' not found on PATH; a Java 17+ runtime is needed")
        return [
            self.java,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dlocal.kafka.logs.dir={self.logs_dir}",
            "-Djava.awt.headless=true",
            "-cp",
            str(self.lib_dir / "*"),
        ]

    def _run_tool(self, *args: str) -> str:
        cmd = [*self._java_base(), "-Xmx256m", "-XX:+UseSerialGC", STORAGE_TOOL, *args]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LocalKafkaError(
                f"{STORAGE_TOOL} {' '.join(args)} failed (exit {result.returncode}):\n"
                + "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            )
        return result.stdout

    def is_formatted(self) -> bool:
        return (self.data_dir / "meta.properties").is_file()

    def format_options(self) -> list[str]:
        """More StorageTool ``format`` arguments (e.g. SCRAM credentials a secured broker starts with)."""
        return []

    def format(self) -> None:
        """Format the KRaft data dir once (``--standalone``); a no-op when already formatted."""
        if self.is_formatted():
            return
        self.ensure_jars()
        self.write_properties()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        out = self._run_tool("random-uuid")
        ids = re.findall(r"^[A-Za-z0-9_-]{22}$", out, flags=re.MULTILINE)
        if not ids:
            raise LocalKafkaError(f"could not read a cluster id from StorageTool random-uuid output: {out!r}")
        self._run_tool("format", "--standalone", "-t", ids[-1], "-c", str(self.properties_file), *self.format_options())
        if not self.is_formatted():
            raise LocalKafkaError(f"StorageTool format finished but {self.data_dir}/meta.properties is missing")

    # ---- lifecycle -----------------------------------------------------------

    def is_running(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self.pid is not None

    def is_ready(self, timeout: float = 2.0) -> bool:
        """A broker answers on ``bootstrap`` with ApiVersions and lists a registered broker."""
        try:
            info = probe_metadata(HOST, self.port, timeout)
        except (OSError, ConnectionError, struct.error, UnicodeDecodeError):
            return False
        return any(node_id == NODE_ID and port == self.port for node_id, _host, port in info["brokers"])

    def start(self, timeout: float = 60, *, wait: bool = True) -> Self:
        """Start the broker (or adopt the one already running from this home) and wait until ready.

        ``wait=False`` only launches the JVM and returns (``timeout`` is then unused): a node of a
        multi-node quorum cannot become ready before its peers run, so the caller waits for all.
        """
        deadline = time.monotonic() + timeout
        if self.is_running():
            if wait:
                self._wait_ready(deadline)
            return self
        self.pid_file.unlink(missing_ok=True)
        busy = [p for p in (self.port, self.controller_port) if not _port_free(p)]
        if busy:
            what = "a Kafka broker" if kafka_ready(HOST, busy[0], 1.0) else "another process"
            raise LocalKafkaError(
                f"port(s) {', '.join(map(str, busy))} on {HOST} are in use by {what} not started from "
                f"{self.home}; stop it or choose other ports (--port / --controller-port)"
            )
        self.ensure_jars()
        self.write_properties()
        self.format()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        java, *java_opts = self._java_base()
        cmd = [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            *java_opts,
            MAIN_CLASS,
            str(self.properties_file),
        ]
        with open(self.out_file, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,
                close_fds=True,
            )
        self._owned = True
        self.pid_file.write_text(f"{self._proc.pid}\n")
        if not wait:
            return self
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        delay = 0.1
        while True:
            if not self.is_running():
                code = self._proc.poll() if self._proc is not None else None
                raise LocalKafkaError(
                    f"Kafka broker exited before it was ready (exit code {code}).\n{self.diagnostics()}"
                )
            if self.is_ready(timeout=1.0):
                return
            if time.monotonic() >= deadline:
                raise LocalKafkaError(f"Kafka broker not ready on {self.bootstrap} in time.\n{self.diagnostics()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def diagnostics(self, lines: int = 40) -> str:
        parts = []
        for path in (self.out_file, self.logs_dir / "server.log"):
            tail = _tail(path, lines)
            if tail:
                parts.append(f"--- last {len(tail)} lines of {path} ---\n" + "".join(tail).rstrip())
        return "\n".join(parts) or "(no broker output)"

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the broker's process group, wait for a clean exit, SIGKILL after ``timeout``."""
        pid = self._proc.pid if self._proc is not None and self._proc.poll() is None else self.pid
        if pid is not None:
            self._signal_group(pid, signal.SIGTERM)
            if not self._wait_exit(pid, timeout):
                self._signal_group(pid, signal.SIGKILL)
                if not self._wait_exit(pid, 10):
                    raise LocalKafkaError(f"Kafka broker (pid {pid}) did not exit after SIGKILL")
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)
        self._proc = None
        self._owned = False
        self.pid_file.unlink(missing_ok=True)

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)  # start_new_session=True: pgid == pid
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:  # our child: poll() also reaps it
                    return True
            elif not _pid_alive(pid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    # ---- context manager -----------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Only stop what this object launched; an adopted broker keeps running.
        if self._owned:
            self.stop()

    def __repr__(self) -> str:
        return f"LocalKafka(home={str(self.home)!r}, bootstrap={self.bootstrap!r})"


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="launch.py",
        description="Run a local single-node Apache Kafka (KRaft) broker without Docker.",
    )
    p.add_argument("command", choices=["start", "stop", "status", "run"])
    p.add_argument(
        "--home",
        type=Path,
        default=None,
        help=f"state directory (default {DEFAULT_HOME})",
    )
    p.add_argument("--port", type=int, default=19092, help="client (PLAINTEXT) port, default 19092")
    p.add_argument(
        "--controller-port",
        type=int,
        default=19093,
        help="KRaft controller port, default 19093",
    )
    p.add_argument("--heap", default="512m", help="JVM heap (-Xms/-Xmx), default 512m")
    p.add_argument("--lib-dir", type=Path, default=None, help="jar folder (default <home>/lib)")
    p.add_argument(
        "--kafka-version",
        default=None,
        help="override the Kafka version pinned in pom.xml",
    )
    p.add_argument("--timeout", type=float, default=90, help="seconds to wait for readiness")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    kafka = LocalKafka(
        args.home,
        args.port,
        args.controller_port,
        args.heap,
        lib_dir=args.lib_dir,
        kafka_version=args.kafka_version,
    )
    try:
        if args.command == "status":
            running, ready = kafka.is_running(), kafka.is_ready()
            print(f"pid={kafka.pid or '-'} running={running} ready={ready} bootstrap={kafka.bootstrap}")
            return 0 if ready else 1
        if args.command == "stop":
            kafka.stop()
            print("stopped")
            return 0
        if args.command == "start":
            t0 = time.monotonic()
            kafka.start(timeout=args.timeout)
            print(f"{kafka.bootstrap} (pid {kafka.pid}, ready in {time.monotonic() - t0:.1f}s)")
            return 0
        return _run_foreground(kafka, args.timeout)
    except LocalKafkaError as exc:
        print(f"local-kafka: {exc}", file=sys.stderr)
        return 2


def _run_foreground(kafka: LocalKafka, timeout: float) -> int:
    stop_requested = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        kafka.start(timeout=timeout)
        print(kafka.bootstrap, flush=True)
        print(
            f"local-kafka: broker pid {kafka.pid}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while not stop_requested.wait(1.0):
            if not kafka.is_running():
                print(
                    f"local-kafka: broker exited unexpectedly\n{kafka.diagnostics()}",
                    file=sys.stderr,
                )
                return 1
        return 0
    finally:
        kafka.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
