"""Run a local N-node (default three) Apache Kafka KRaft cluster from the Maven Central jars.

For reliability tests: replication factor 3 and ``min.insync.replicas`` 2 everywhere, so
``acks=all`` producing goes on with any one node killed (``kill -9``) and nothing acknowledged
is lost. Each node is a combined broker + controller and every node is a KRaft voter; the
quorum is static (``controller.quorum.voters``), every data dir formatted with the same
cluster id. Per-node settings and why they are what they are: ``cluster.properties``.

Standard library only; each node is a :class:`deploy.kafka.launch.LocalKafka` (same jar cache,
log4j config, JVM flags and pid-file handling) with its own properties and formatting.

Library use::

    from deploy.kafka.cluster import LocalKafkaCluster

    with LocalKafkaCluster(tmp / "kafka", lib_dir=REPO / ".local/kafka/lib") as cluster:
        print(cluster.bootstrap)        # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
        cluster.kill(0)                 # SIGKILL node 0 (node.id 1), like kill -9
        cluster.wait_for_brokers()      # until the survivors have fenced it
        cluster.restart(0)              # same storage; back in the cluster

Command line (from the repository root)::

    python -m deploy.kafka.cluster start|stop|status|run [--home DIR] [--size N]

State layout under ``home``::

    cluster.json        size, ports and cluster id (reused by a later object on the same home)
    node-<id>/          one LocalKafka home per node: server.properties, data/, logs/, broker.pid
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import string
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from deploy.kafka.launch import (
    _METADATA_PLAIN_VERSIONS,
    API_METADATA,
    HERE,
    HOST,
    LocalKafka,
    LocalKafkaError,
    _api_versions,
    _Reader,
    _roundtrip,
    with_overrides,
)

if TYPE_CHECKING:
    from typing import Self

CLUSTER_TEMPLATE = HERE / "cluster.properties"
DEFAULT_HOME = HERE.parent.parent / ".local" / "kafka-cluster"
STATE_FILE = "cluster.json"
# Added to LocalKafka's JVM flags (its G1 and -Xms/-Xmx stay). C1 only: three JVMs that each
# JIT-compile Kafka on a 2-core box are CPU-bound at start; without C2 a three-node start drops
# from ~15 s to ~7 s and each node's RSS by ~20 MB, for throughput that tests do not need.
DEFAULT_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)
_PROBE_ERRORS = (OSError, ConnectionError, struct.error, UnicodeDecodeError)

__all__ = ["LocalKafkaCluster", "LocalKafkaError", "PartitionState", "new_cluster_id"]


def new_cluster_id() -> str:
    """A Kafka cluster id, as ``StorageTool random-uuid`` prints it (no JVM start needed).

    Kafka's ``Uuid.randomUuid()``: 16 random bytes, URL-safe base64 without padding; it never
    hands out the all-zero or METADATA_TOPIC (…01) ids, nor one whose text starts with ``-``.
    """
    while True:
        raw = uuid.uuid4().bytes
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if not text.startswith("-") and int.from_bytes(raw, "big") > 1:
            return text


def _free_ports(count: int, avoid: Iterable[int] = ()) -> list[int]:
    """``count`` distinct loopback ports that are free right now (all held open together while picking)."""
    avoid = {19092, 19093, *avoid}  # the single-broker launcher's defaults
    held: list[socket.socket] = []
    try:
        while len(held) < count:
            s = socket.socket()
            s.bind((HOST, 0))
            if s.getsockname()[1] in avoid:
                s.close()
                continue
            held.append(s)
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for s in held:
            s.close()


def _int_list(value: object) -> list[int] | None:
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return [int(v) for v in value]
    return None


# --------------------------------------------------------------------------
# Metadata with topics (leaders, replicas, ISR), over the plain Metadata v4..v8
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionState:
    leader: int  # node id, -1 while leaderless
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


def probe_topics(
    host: str, port: int, topics: list[str] | None = None, timeout: float = 2.0
) -> tuple[set[int], dict[str, dict[int, PartitionState]]]:
    """Ask one broker for (live broker ids, ``{topic: {partition: PartitionState}}``).

    ``topics=None`` means every topic. Topics the broker reports with an error (e.g. unknown)
    are left out. Raises OSError / ConnectionError / struct.error when the broker does not answer.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        lo, hi = _api_versions(sock).get(API_METADATA, (0, -1))
        versions = [v for v in _METADATA_PLAIN_VERSIONS if lo <= v <= hi]
        if not versions:
            raise ConnectionError(f"broker supports no plain Metadata version (range {lo}..{hi})")
        version = versions[-1]
        if topics is None:
            body = struct.pack(">i", -1)  # null array: all topics
        else:
            body = struct.pack(">i", len(topics))
            for name in topics:
                raw = name.encode()
                body += struct.pack(">h", len(raw)) + raw
        body += struct.pack(">b", 0)  # allow_auto_topic_creation
        if version >= 8:
            body += struct.pack(">bb", 0, 0)  # include cluster / topic authorized operations
        r = _roundtrip(sock, API_METADATA, version, 3, body)
    return _parse_topic_metadata(r, version)


def _int32_array(r: _Reader) -> tuple[int, ...]:
    return tuple(r.int32() for _ in range(max(r.int32(), 0)))


def _parse_topic_metadata(r: _Reader, version: int) -> tuple[set[int], dict[str, dict[int, PartitionState]]]:
    r.int32()  # throttle_time_ms
    brokers: set[int] = set()
    for _ in range(r.int32()):
        brokers.add(r.int32())
        r.string(), r.int32(), r.string()  # host, port, rack
    r.string()  # cluster_id
    r.int32()  # controller_id
    result: dict[str, dict[int, PartitionState]] = {}
    for _ in range(max(r.int32(), 0)):
        topic_error, name = r.int16(), r.string()
        r.take(">b")  # is_internal
        partitions: dict[int, PartitionState] = {}
        for _ in range(max(r.int32(), 0)):
            r.int16()  # partition error_code (LEADER_NOT_AVAILABLE keeps leader -1; still useful)
            index, leader = r.int32(), r.int32()
            if version >= 7:
                r.int32()  # leader_epoch
            replicas, isr = _int32_array(r), _int32_array(r)
            if version >= 5:
                _int32_array(r)  # offline_replicas
            partitions[index] = PartitionState(leader, replicas, isr)
        if version >= 8:
            r.int32()  # topic_authorized_operations
        if topic_error == 0 and name is not None:
            result[name] = partitions
    return brokers, result


# --------------------------------------------------------------------------
# One node
# --------------------------------------------------------------------------


class _ClusterNode(LocalKafka):
    """A LocalKafka that renders cluster.properties and formats for the static quorum."""

    def __init__(
        self,
        home: Path,
        *,
        node_id: int,
        port: int,
        controller_port: int,
        heap: str,
        lib_dir: Path | None,
        template_values: dict[str, object],
        extra_properties: dict[str, str] | None,
        jvm_options: Iterable[str],
    ) -> None:
        super().__init__(home, port, controller_port, heap, lib_dir=lib_dir, extra_properties=extra_properties)
        self.node_id = node_id
        self.template_values = template_values
        self.cluster_id: str | None = None  # set by the cluster before format()
        self.jvm_options = list(jvm_options)

    def render_properties(self) -> str:
        text = string.Template(CLUSTER_TEMPLATE.read_text()).substitute(
            self.template_values,
            node_id=self.node_id,
            port=self.port,
            controller_port=self.controller_port,
            log_dir=self.data_dir,
        )
        return with_overrides(text, self.extra_properties)

    def _java_base(self) -> list[str]:
        java, *rest = super()._java_base()
        return [java, *self.jvm_options, *rest]

    def formatted_cluster_id(self) -> str | None:
        try:
            text = (self.data_dir / "meta.properties").read_text()
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "cluster.id":
                return value.strip()
        return None

    def format(self) -> None:
        """Format once with the cluster's id; no --standalone: the voters come from the properties."""
        if self.is_formatted():
            return
        if not self.cluster_id:
            raise LocalKafkaError(f"node {self.node_id}: no cluster id to format {self.data_dir} with")
        self.ensure_jars()
        self.write_properties()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._run_tool("format", "-t", self.cluster_id, "-c", str(self.properties_file))
        if not self.is_formatted():
            raise LocalKafkaError(f"StorageTool format finished but {self.data_dir}/meta.properties is missing")

    def is_ready(self, timeout: float = 2.0) -> bool:
        """This node answers and lists itself as a live (registered, unfenced) broker."""
        return self.node_id in self.live_brokers(timeout)

    def live_brokers(self, timeout: float = 2.0) -> set[int]:
        """Node ids of the brokers this node's metadata shows as alive; empty when it does not answer."""
        try:
            return set(probe_topics(HOST, self.port, [], timeout)[0])
        except _PROBE_ERRORS:
            return set()

    def running_pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        return self.pid


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # launched with start_new_session=True: pgid == pid
    except ProcessLookupError:
        pass
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------


class LocalKafkaCluster:
    """``size`` combined broker+controller KRaft nodes on 127.0.0.1; node ``i`` (0-based) has node.id ``i + 1``.

    ``ports`` / ``controller_ports``: one per node, free ones picked when None (and remembered in
    ``<home>/cluster.json`` for a later object on the same home). ``heap``: -Xms/-Xmx per node.
    ``extra_properties`` override or extend ``cluster.properties`` on every node. ``jvm_options``
    are added to LocalKafka's JVM flags (default :data:`DEFAULT_JVM_OPTIONS`). Replication factor
    is ``size`` and ``min.insync.replicas`` a majority of it (2 of 3).
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        size: int = 3,
        lib_dir: Path | str | None = None,
        heap: str = "384m",
        ports: list[int] | None = None,
        controller_ports: list[int] | None = None,
        extra_properties: dict[str, str] | None = None,
        jvm_options: Iterable[str] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.home = Path(home or os.environ.get("LOCAL_KAFKA_CLUSTER_HOME") or DEFAULT_HOME).resolve()
        self.size = size
        self.heap = heap
        self.lib_dir = Path(lib_dir).resolve() if lib_dir else None
        self.state_file = self.home / STATE_FILE
        saved = self._load_state()
        if saved.get("size") == size:  # same home again: same ports (the voters are in the properties)
            ports = ports or _int_list(saved.get("ports"))
            controller_ports = controller_ports or _int_list(saved.get("controller_ports"))
        picked = _free_ports(2 * size, avoid=[*(ports or []), *(controller_ports or [])])
        self.ports = [int(p) for p in ports] if ports else picked[:size]
        self.controller_ports = [int(p) for p in controller_ports] if controller_ports else picked[size:]
        if len(self.ports) != size or len(self.controller_ports) != size:
            raise ValueError(f"need {size} ports and {size} controller ports")
        if len({*self.ports, *self.controller_ports}) != 2 * size:
            raise ValueError("all ports and controller ports must be distinct")
        # A majority of the replicas must acknowledge: 2 of 3, so one node may be lost.
        self.min_insync_replicas = size // 2 + 1
        voters = ",".join(f"{i + 1}@{HOST}:{cport}" for i, cport in enumerate(self.controller_ports))
        values: dict[str, object] = {"voters": voters, "size": size, "min_isr": self.min_insync_replicas}
        self.nodes = [
            _ClusterNode(
                self.home / f"node-{i + 1}",
                node_id=i + 1,
                port=self.ports[i],
                controller_port=self.controller_ports[i],
                heap=heap,
                lib_dir=self.lib_dir or self.home / "lib",
                template_values=values,
                extra_properties=extra_properties,
                jvm_options=DEFAULT_JVM_OPTIONS if jvm_options is None else jvm_options,
            )
            for i in range(size)
        ]
        saved_id = saved.get("cluster_id")
        self.cluster_id: str | None = saved_id if isinstance(saved_id, str) else None

    # ---- addresses and state -----------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def node_bootstrap(self, node: int) -> str:
        return self._node(node).bootstrap

    def node_id(self, node: int) -> int:
        """Kafka node.id of node index ``node`` (0-based): ``node + 1``."""
        return self._node(node).node_id

    def node_index(self, node_id: int) -> int:
        """Inverse of :meth:`node_id`."""
        for i, n in enumerate(self.nodes):
            if n.node_id == node_id:
                return i
        raise ValueError(f"no node with node.id {node_id}")

    def pid(self, node: int) -> int | None:
        return self._node(node).running_pid()

    def is_running(self, node: int) -> bool:
        return self._node(node).is_running()

    def running_nodes(self) -> list[int]:
        return [i for i, n in enumerate(self.nodes) if n.is_running()]

    def live_brokers(self, node: int, timeout: float = 2.0) -> set[int]:
        """Broker node ids that node ``node`` sees as alive (registered and not fenced); empty if it is down."""
        return self._node(node).live_brokers(timeout)

    def topic_state(self, topic: str, timeout: float = 2.0) -> dict[int, PartitionState] | None:
        """``{partition: PartitionState(leader, replicas, isr)}`` from the first running node that knows
        the topic; None when none does. Nodes apply metadata changes a few ms apart, so right after a
        change two calls may see different states: poll for the state you expect."""
        for i in self.running_nodes():
            try:
                found = probe_topics(HOST, self.nodes[i].port, [topic], timeout)[1].get(topic)
            except _PROBE_ERRORS:
                continue
            if found is not None:
                return found
        return None

    def under_replicated(self, timeout: float = 2.0) -> list[tuple[str, int]] | None:
        """(topic, partition) whose ISR is smaller than the replica set; None when no node answers."""
        for i in self.running_nodes():
            try:
                topics = probe_topics(HOST, self.nodes[i].port, None, timeout)[1]
            except _PROBE_ERRORS:
                continue
            return sorted(
                (name, index)
                for name, partitions in topics.items()
                for index, state in partitions.items()
                if set(state.isr) != set(state.replicas)
            )
        return None

    def diagnostics(self, lines: int = 30) -> str:
        return "\n".join(f"=== node {n.node_id} ({n.home}) ===\n{n.diagnostics(lines)}" for n in self.nodes)

    # ---- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = 120) -> Self:
        """Format every node (same cluster id, static voters), start them all and wait until every
        node is ready and sees all ``size`` brokers. Nodes already running from this home are adopted."""
        deadline = time.monotonic() + timeout
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            self.nodes[0].ensure_jars()  # once, before the nodes share the folder
            self.cluster_id = self._agreed_cluster_id()
            self._save_state()
            pending = [n for n in self.nodes if not n.is_formatted()]
            for n in pending:
                n.cluster_id = self.cluster_id
            if pending:  # one StorageTool JVM per node; in parallel, they take a second or two each
                with ThreadPoolExecutor(max_workers=len(pending)) as pool:
                    list(pool.map(lambda n: n.format(), pending))
            # A voter cannot become ready alone (no quorum), so launch all, then wait for all.
            for n in self.nodes:
                n.start(wait=False)
            self.wait_for_brokers({n.node_id for n in self.nodes}, timeout=max(deadline - time.monotonic(), 0))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM every node at once, wait for clean exits; SIGKILL what is left after ``timeout``.

        All at once on purpose: a broker's controlled shutdown needs a controller quorum to
        approve it, and stopping nodes one by one would leave the last one without a majority.
        """
        deadline = time.monotonic() + timeout
        for n in self.nodes:
            pid = n.running_pid()
            if pid is not None:
                _signal_group(pid, signal.SIGTERM)
        errors: list[str] = []
        for n in self.nodes:
            try:
                n.stop(timeout=max(deadline - time.monotonic(), 0.5))
            except LocalKafkaError as exc:
                errors.append(str(exc))
        if errors:
            raise LocalKafkaError("; ".join(errors))

    def kill(self, node: int) -> None:
        """SIGKILL node ``node`` (0-based) and its process group, like ``kill -9``; no clean shutdown."""
        n = self._node(node)
        pid = n.running_pid()
        if pid is None:
            raise LocalKafkaError(f"node {node} (node.id {n.node_id}) is not running")
        _signal_group(pid, signal.SIGKILL)
        if not n._wait_exit(pid, 10):
            raise LocalKafkaError(f"node {node} (pid {pid}) still alive 10 s after SIGKILL")
        n.stop()  # reaps the child and drops the pid file; nothing left to signal

    def restart(self, node: int, timeout: float = 60) -> None:
        """Start node ``node`` again on its existing storage; wait until every running node sees
        it (and each other) as a live broker. Partition catch-up: :meth:`wait_fully_replicated`."""
        deadline = time.monotonic() + timeout
        self._node(node).start(wait=False)
        self.wait_for_brokers(timeout=max(deadline - time.monotonic(), 0))

    def wait_for_brokers(self, expected: Iterable[int] | None = None, timeout: float = 60) -> float:
        """Wait until every running node reports exactly ``expected`` (node ids; default: the ids of
        the running nodes) as its live brokers. Returns the seconds waited.

        After :meth:`kill` this measures how long the survivors take to fence the dead node."""
        t0 = time.monotonic()
        want = set(expected) if expected is not None else None

        def settled() -> bool:
            running = self.running_nodes()
            ids = want if want is not None else {self.nodes[i].node_id for i in running}
            return bool(running) and all(self.nodes[i].live_brokers(1.0) == ids for i in running)

        self._wait(settled, t0 + timeout, f"brokers {sorted(want) if want is not None else 'of the running nodes'}")
        return time.monotonic() - t0

    def wait_fully_replicated(self, timeout: float = 60) -> float:
        """Wait until no partition of any topic has an ISR smaller than its replica set; seconds waited."""
        t0 = time.monotonic()
        self._wait(lambda: self.under_replicated(1.0) == [], t0 + timeout, "every partition fully in sync")
        return time.monotonic() - t0

    # ---- internals -----------------------------------------------------------------

    def _node(self, node: int) -> _ClusterNode:
        if not 0 <= node < self.size:
            raise IndexError(f"node index {node} out of range 0..{self.size - 1}")
        return self.nodes[node]

    def _wait(self, condition: Callable[[], bool], deadline: float, what: str) -> None:
        """Poll ``condition`` until true; fail at ``deadline`` or as soon as a node we launched has died."""
        delay = 0.1
        while True:
            for n in self.nodes:
                if n._proc is not None and n._proc.poll() is not None:
                    raise LocalKafkaError(
                        f"node.id {n.node_id} exited (code {n._proc.returncode}) while waiting for {what}.\n"
                        f"{n.diagnostics()}"
                    )
            if condition():
                return
            if time.monotonic() >= deadline:
                raise LocalKafkaError(f"timed out waiting for {what} on {self.bootstrap}.\n{self.diagnostics()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _agreed_cluster_id(self) -> str:
        found = {cid for n in self.nodes if (cid := n.formatted_cluster_id())}
        if len(found) > 1:
            raise LocalKafkaError(f"the nodes under {self.home} were formatted for different clusters: {found}")
        return found.pop() if found else (self.cluster_id or new_cluster_id())

    def _load_state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self) -> None:
        state = {
            "size": self.size,
            "ports": self.ports,
            "controller_ports": self.controller_ports,
            "cluster_id": self.cluster_id,
        }
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    # ---- context manager -----------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalKafkaCluster(home={str(self.home)!r}, bootstrap={self.bootstrap!r})"


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m deploy.kafka.cluster",
        description="Run a local multi-node Apache Kafka (KRaft) cluster without Docker.",
    )
    p.add_argument("command", choices=["start", "stop", "status", "run"])
    p.add_argument("--home", type=Path, default=None, help=f"state directory (default {DEFAULT_HOME})")
    p.add_argument("--size", type=int, default=3, help="number of nodes, default 3")
    p.add_argument("--heap", default="384m", help="JVM heap per node, default 384m")
    p.add_argument("--lib-dir", type=Path, default=None, help="jar folder (default <home>/lib)")
    p.add_argument("--timeout", type=float, default=120, help="seconds to wait for readiness")
    args = p.parse_args(argv)
    cluster = LocalKafkaCluster(args.home, size=args.size, heap=args.heap, lib_dir=args.lib_dir)
    try:
        if args.command == "status":
            for i, n in enumerate(cluster.nodes):
                print(f"node {i} id={n.node_id} pid={n.pid or '-'} {n.bootstrap} sees {sorted(n.live_brokers())}")
            return 0 if all(n.is_ready() for n in cluster.nodes) else 1
        if args.command == "stop":
            cluster.stop()
            print("stopped")
            return 0
        t0 = time.monotonic()
        cluster.start(timeout=args.timeout)
        print(f"{cluster.bootstrap} (ready in {time.monotonic() - t0:.1f}s)", flush=True)
        if args.command == "start":
            return 0
        stop_requested = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda _s, _f: stop_requested.set()) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop_requested.wait(1.0):
                pass  # nodes may be killed and restarted from outside; keep serving until told to stop
        finally:
            cluster.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0
    except LocalKafkaError as exc:
        print(f"local-kafka-cluster: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
