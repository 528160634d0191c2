"""The load generators: wrk (closed loop, bench/ingest/submit.lua), bench/loadgen (open loop, and the ceiling
runs) and Kafka's ProducerPerformance (the broker's own ceiling). Each returns plain figures for the JSON."""

import json
import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.ingest.payloads import PLACEHOLDER
from bench.ingest.processes import KAFKA_LIB, REPO, BenchmarkSetupError, require_loopback

LUA = Path(__file__).with_name("submit.lua")
KAFKA_LOG4J = REPO / "deploy" / "kafka" / "log4j2.properties"


@dataclass(frozen=True)
class Request:
    """What every request of a run carries: where it goes, its headers and its body template."""

    url: str
    headers: dict[str, str]
    body: str


def _body_file(scratch: Path, body: str) -> Path:
    path = scratch / "body"
    path.write_text(body, encoding="utf-8")
    return path


def wrk(request: Request, *, connections: int, threads: int, seconds: float, run_id: str) -> dict[str, Any]:
    """A closed loop: `connections` requests in flight, each sent when the previous answer came back, for
    `seconds` rounded up to whole seconds (wrk takes no fraction)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise BenchmarkSetupError("wrk is not installed: scripts/setup.sh installs it (Debian package wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        body = _body_file(Path(scratch), request.body)
        headers = [arg for name, value in request.headers.items() for arg in ("-H", f"{name}: {value}")]
        duration = f"-d{max(1, math.ceil(seconds))}s"
        command = [binary, f"-t{threads}", f"-c{connections}", duration, "--timeout", "30s", *headers]
        command += ["-s", str(LUA), require_loopback(request.url), "--", str(body), PLACEHOLDER, run_id]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"^wrk-json (\{.*\})$", result.stdout, flags=re.MULTILINE)
    if result.returncode != 0 or found is None:
        raise BenchmarkSetupError(f"wrk failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    raw = json.loads(found.group(1))
    seconds_run = raw["duration_us"] / 1e6
    errors = raw["errors"]
    accepted = raw["requests"] - errors["status"]
    percentiles = raw["latency_us"]["percentiles"]
    return {
        "generator": "wrk",
        "connections": connections,
        "threads": threads,
        "seconds": seconds_run,
        "requests": raw["requests"],
        "accepted": accepted,
        "non_2xx": errors["status"],
        "socket_errors": {name: errors[name] for name in ("connect", "read", "write", "timeout")},
        "accepted_per_second": accepted / seconds_run,
        "latency_ms": {
            "p50": percentiles["50"] / 1000,
            "p99": percentiles["99"] / 1000,
            "p99.9": percentiles["99.9"] / 1000,
            "mean": raw["latency_us"]["mean"] / 1000,
            "max": raw["latency_us"]["max"] / 1000,
        },
    }


def open_loop(
    loadgen: Path, request: Request, *, rate: float, seconds: float, connections: int, run_id: str
) -> dict[str, Any]:
    """A fixed schedule of `rate` requests per second (0: as fast as possible), latency from the intended time."""
    with tempfile.TemporaryDirectory(prefix="bench-open-") as scratch:
        body = _body_file(Path(scratch), request.body)
        headers = [arg for name, value in request.headers.items() for arg in ("-header", f"{name}: {value}")]
        command = [str(loadgen), "open", "-url", require_loopback(request.url), "-rate", f"{rate:g}"]
        command += ["-duration", f"{seconds:g}s", "-connections", str(connections), "-body", str(body)]
        command += ["-placeholder", PLACEHOLDER, "-id-prefix", run_id, *headers]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchmarkSetupError(f"loadgen failed (exit {result.returncode}):\n{result.stderr}")
    raw: dict[str, Any] = json.loads(result.stdout)
    return {
        "generator": "loadgen",
        "offered_per_second": rate,
        "connections": connections,
        "seconds": raw["elapsed_seconds"],
        "scheduled": raw["scheduled"],
        "accepted": raw["accepted"],
        "non_2xx": raw["non_2xx"],
        "errors": raw["errors"] + raw["unsent"],
        "statuses": raw["statuses"],
        "error_samples": raw["error_samples"],
        "accepted_per_second": raw["achieved_rate"],
        "latency_ms": raw["latency_ms"],
    }


def producer_performance(bootstrap: str, topic: str, *, records: int, record_size: int) -> dict[str, Any]:
    """org.apache.kafka.tools.ProducerPerformance with acks=all, unthrottled: what the broker itself takes."""
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as logs:
        command = [
            shutil.which("java") or "java",
            "-Xmx256m",
            f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
            f"-Dlocal.kafka.logs.dir={logs}",
            "-cp",
            str(KAFKA_LIB / "*"),
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(record_size),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    pattern = (
        r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max "
        r"latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th"
    )
    summary = re.findall(pattern, result.stdout)
    if result.returncode != 0 or not summary:
        raise BenchmarkSetupError(f"ProducerPerformance failed (exit {result.returncode}):\n{result.stdout[-2000:]}")
    sent, rate, megabytes, mean, worst, p50, _p95, p99, p999 = summary[-1]
    return {
        "generator": "ProducerPerformance",
        "records": int(sent),
        "record_size": record_size,
        "acks": "all",
        "accepted_per_second": float(rate),
        "megabytes_per_second": float(megabytes),
        "latency_ms": {"p50": float(p50), "p99": float(p99), "p99.9": float(p999), "mean": float(mean)}
        | {"max": float(worst)},
    }
