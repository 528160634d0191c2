"""Runs the whole single window on this machine: the Kafka broker and the three services as processes.

`python -m deploy.stack` starts everything, prints the URLs and the development API keys, and stops
everything cleanly on Ctrl-C. The end-to-end tests start the services through the same `Stack`.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV_KEYS = REPO / "deploy" / "dev-keys.yaml"


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    env_prefix: str
    port: int
    database: str = ""  # the database it shares with other instances; by default its own name

    @property
    def database_name(self) -> str:
        return self.database or self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def services(base_port: int = 8080) -> list[Service]:
    return [
        Service("gateway", "services.gateway", "SW_GATEWAY_", base_port),
        Service("customs", "services.customs", "SW_CUSTOMS_", base_port + 1),
        Service("phyto", "services.phyto", "SW_PHYTO_", base_port + 2),
    ]


def free_port_run(length: int, start: int = 21000) -> int:
    """The first of `length` consecutive free loopback ports, searching upwards from `start` (below the ephemeral
    range, where outgoing connections would take ports between the check and the bind): a stack's base_port."""
    for first in range(start, start + 10000, 10):
        sockets = []
        try:
            for port in range(first, first + length):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise RuntimeError(f"no run of {length} free ports from {start}")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Stack:
    """The three services, each a `python -m` process with its own SQLite file and log file."""

    bootstrap: str
    state_dir: Path
    base_port: int = 8080
    topic_prefix: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_instances: list[Service] = field(default_factory=list)
    workdir: Path = REPO
    """Where the processes run (a container's WORKDIR): relative paths in their settings resolve from here."""

    @property
    def services(self) -> list[Service]:
        return services(self.base_port)

    def log_file(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def environment(self, service: Service) -> dict[str, str]:
        settings = {
            "HTTP_PORT": str(service.port),
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.state_dir / 'db' / service.database_name}.db",
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "TOPIC_PREFIX": self.topic_prefix,
        }
        if service.module == "services.gateway":
            settings |= {
                "ENVIRONMENT": "development",
                "DEV_KEYS_FILE": str(DEV_KEYS),
                # Webhooks to receivers on this machine (production allows only the hosts an operator lists).
                "WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1", "localhost"]',
                "WEBHOOK_ALLOWED_SCHEMES": '["http", "https"]',
                # The dashboard shows the health of the others, on the ports this stack gave them.
                "PEER_HEALTH_URLS": json.dumps(
                    {other.name: f"{other.url}/health" for other in self.services if other.name != "gateway"}
                ),
            }
        if service.module == "services.customs":
            settings |= {"SELECTIVITY_KEY_FILE": str(self.state_dir / "customs-selectivity.key")}
        env = {**os.environ, **{service.env_prefix + name: value for name, value in settings.items()}}
        env["PYTHONPATH"] = str(REPO)
        return env | self.extra_env

    def start(self, timeout: float = 90) -> None:
        for service in self.services:
            self._spawn(service)
        self._wait_ready(self.services, timeout)

    def start_instance(self, name: str, instance: str, port: int, timeout: float = 90) -> str:
        """Start another instance of a service: same database and consumer group, its own port and log."""
        base = self._service(name)
        extra = Service(f"{name}-{instance}", base.module, base.env_prefix, port, database=base.database_name)
        self.extra_instances.append(extra)
        self._spawn(extra)
        self._wait_ready([extra], timeout)
        return extra.name

    def start_service(self, name: str, timeout: float = 90) -> None:
        """Start one service again (after `kill`), on its existing database, and wait until it is ready."""
        service = self._service(name)
        self._spawn(service)
        self._wait_ready([service], timeout)

    def kill(self, name: str) -> None:
        """SIGKILL one service, as `kill -9` would: no graceful stop."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def _service(self, name: str) -> Service:
        return next(service for service in self.services + self.extra_instances if service.name == name)

    def _spawn(self, service: Service) -> None:
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        with self.log_file(service.name).open("ab") as log:
            self.processes[service.name] = subprocess.Popen(
                [sys.executable, "-m", service.module],
                cwd=self.workdir,
                env=self.environment(service),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_ready(self, services: list[Service], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting:
            for service in list(waiting):
                code = self.processes[service.name].poll()
                if code is not None:
                    self.stop()
                    tail = self.log_file(service.name).read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{service.name} exited with {code} while starting:\n{tail}")
                if _ready(service.url):
                    waiting.remove(service)
            if waiting and time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"not ready after {timeout:.0f} s: {', '.join(s.name for s in waiting)}")
            time.sleep(0.2)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM every service, then wait; a service that does not stop in time is killed."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def _print_banner(stack: Stack, broker: str, seconds: float) -> None:
    from services.gateway.service_layer.api_keys import read_key_file

    gateway, customs, phyto = stack.services
    lines = [
        f"Single Window is up ({seconds:.1f} s).",
        f"  API            {gateway.url}/v1",
        f"  API docs       {gateway.url}/docs",
        f"  OpenAPI        {gateway.url}/openapi.json",
        f"  dashboard      {gateway.url}/dashboard   (give it the operator key)",
        f"  health         {gateway.url}/health   {customs.url}/health   {phyto.url}/health",
        f"  Kafka          {broker}",
        f"  logs           {stack.state_dir / 'logs'}",
        "Development API keys (X-API-Key header):",
        *(f"  {entry.role.value:9} {entry.subject or '-':15} {entry.key}" for entry in read_key_file(DEV_KEYS)),
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the broker and the three services; Ctrl-C stops them.")
    parser.add_argument("--state-dir", type=Path, default=REPO / ".local" / "stack")
    parser.add_argument("--base-port", type=int, default=8080)
    parser.add_argument("--kafka-port", type=int, default=19092)
    parser.add_argument("--kafka-home", type=Path, default=None, help="broker state (default .local/kafka)")
    args = parser.parse_args()
    started = time.monotonic()
    from deploy.kafka.launch import LocalKafka

    kafka = LocalKafka(
        home=args.kafka_home,
        port=args.kafka_port,
        controller_port=args.kafka_port + 1,
        lib_dir=REPO / ".local/kafka/lib",
    )
    stop_requested = False

    def _request_stop(_signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    # Explicit handlers: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    print(f"starting Kafka at {kafka.bootstrap} ...", flush=True)
    kafka.start(timeout=120)
    stack = Stack(bootstrap=kafka.bootstrap, state_dir=args.state_dir, base_port=args.base_port)
    try:
        print("starting gateway, customs and phyto ...", flush=True)
        stack.start()
        _print_banner(stack, kafka.bootstrap, time.monotonic() - started)
        while not stop_requested:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(json.dumps({"stopped": name, "exit_code": process.returncode}), flush=True)
                    stop_requested = True
            time.sleep(0.5)
    finally:
        print("stopping ...", flush=True)
        stack.stop()
        kafka.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
