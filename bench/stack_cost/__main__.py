"""What the gateway's stack costs a submission, one closed loop after another on this machine: the product with
every request through FastAPI's routes (`FAST_LODGING=false`), the product as deployed (an ordinary declaration on
its fast path, `entrypoints/fast_lodging.py`), and the same work on bare ASGI and sqlite3 (`lean_app`). Each runs
alone, on a fresh SQLite file, with no broker reachable (nothing is published: the outbox keeps every event), under
wrk; the server's CPU is read from /proc."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench.ingest import generators
from bench.ingest.payloads import PLACEHOLDER, TRADER_KEY, payloads
from bench.ingest.processes import REPO, BenchmarkSetupError, CpuUsage, free_port, stop_process, wait_http

VARIANTS = {
    "routes only": "the product with FAST_LODGING=false: FastAPI's routes, middleware and dependencies, SQLAlchemy",
    "product": "the product as deployed: an ordinary declaration on the fast path, through SQLAlchemy",
    "lean": "the same work on bare ASGI and sqlite3, no SQLAlchemy on the way",
}


def command(variant: str, port: int) -> list[str]:
    if variant != "lean":
        return [sys.executable, "-m", "services.gateway"]
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.stack_cost.lean_app:app", "--port", str(port)]
    return [*uvicorn, "--no-access-log", "--log-level", "warning"]


def environment(variant: str, database: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SW_GATEWAY_FAST_LODGING": "false" if variant == "routes only" else "true",
        "SW_GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SW_GATEWAY_ENVIRONMENT": "development",
        "SW_GATEWAY_DEV_KEYS_FILE": str(REPO / "deploy" / "dev-keys.yaml"),
        "SW_GATEWAY_KAFKA_BOOTSTRAP": "127.0.0.1:1",  # nothing listens: no variant publishes
        "SW_GATEWAY_HTTP_PORT": str(port),
        "SW_GATEWAY_RATE_LIMIT_PER_SECOND": "1000000",
        "SW_GATEWAY_RATE_LIMIT_BURST": "1000000",
        "SW_GATEWAY_OUTBOX_MAX_BACKLOG": "10000000",
    }


def lodge_once(request: generators.Request, what: str) -> None:
    body = request.body.replace(PLACEHOLDER, "probe").encode()
    sent = urllib.request.Request(request.url, data=body, headers=request.headers, method="POST")
    with urllib.request.urlopen(sent, timeout=30) as answer:
        if answer.status != 201:
            raise BenchmarkSetupError(f"{what} answered {answer.status} to a new declaration")


def measure(variant: str, payload_body: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as scratch:
        port = free_port()
        log = (Path(scratch) / "server.log").open("wb")
        env = environment(variant, Path(scratch) / "gateway.db", port)
        server = subprocess.Popen(command(variant, port), cwd=REPO, env=env, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}/v1/declarations"
            wait_http(url, within=120, process=server, what=variant)
            headers = {"Content-Type": "application/json", "X-API-Key": TRADER_KEY}
            request = generators.Request(url, headers, payload_body)
            lodge_once(request, variant)
            run = {"connections": args.connections, "threads": args.threads}
            generators.wrk(request, **run, seconds=args.warmup_seconds, run_id=f"w{port}")
            usage = CpuUsage({"server": [server.pid]})
            figures = generators.wrk(request, **run, seconds=args.seconds, run_id=f"m{port}")
            figures["cpu_ms_per_request"] = usage.spent(max(1, figures["accepted"]))["server"]["ms_each"]
            return {"variant": variant, "what": VARIANTS[variant], **figures}
        finally:
            stop_process(server)
            log.close()


def table(runs: list[dict[str, Any]]) -> str:
    routed = runs[0]
    lines = [
        "| variant | accepted/s | p50 ms | p99 ms | failed | server CPU per request | vs routes only |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        failed = run["non_2xx"] + sum(run["socket_errors"].values())
        ratio = run["accepted_per_second"] / routed["accepted_per_second"]
        lines.append(
            f"| {run['variant']} | {run['accepted_per_second']:,.0f} | {run['latency_ms']['p50']:.1f} | "
            f"{run['latency_ms']['p99']:.1f} | {failed} | {run['cpu_ms_per_request']:.2f} ms | {ratio:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payload", default="small", choices=["small", "realistic"])
    parser.add_argument("--quick", action="store_true", help="2 s a variant after 1 s, for CI")
    parser.add_argument("--seconds", type=float, help="closed loop, per variant (10, quick 2)")
    parser.add_argument("--warmup-seconds", type=float, help="before each variant's loop (3, quick 1)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    args.warmup_seconds = args.warmup_seconds or (1.0 if args.quick else 3.0)
    body = next(payload.body for payload in payloads() if payload.name == args.payload)
    runs = []
    for variant in VARIANTS:
        print(f"bench: {variant} ...", file=sys.stderr, flush=True)
        runs.append(measure(variant, body, args))
    print(table(runs))
    if args.json is not None:
        args.json.write_text(json.dumps({"payload": args.payload, "runs": runs}, indent=2) + "\n")
    failing = [
        run["variant"] for run in runs if not run["accepted"] or run["non_2xx"] or any(run["socket_errors"].values())
    ]
    if failing:
        print(f"bench: no clean run for {', '.join(failing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
