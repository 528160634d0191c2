"""What a result depends on besides the code: the machine, the versions of every tool, the commit."""

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.ingest.processes import REPO


def _first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None and not Path(command[0]).is_file():
        return "not installed"
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = (result.stdout + result.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _cpu_model() -> str:
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), flags=re.MULTILINE)
    except OSError:
        found = None
    return found.group(1).strip() if found else platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        found = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), flags=re.MULTILINE)
    except OSError:
        return None
    return round(int(found.group(1)) / 2**20, 1) if found else None


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return result.stdout.strip()


def describe(go: str, kafka_version: str, bridge_version: str) -> dict[str, Any]:
    return {
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": _memory_gib(),
            "os": platform.platform(),
            "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "shared": "broker, gateway, bridge and load generators all run on this machine and share its cores",
        },
        "versions": {
            "python": platform.python_version(),
            "java": _first_line(["java", "-version"]),
            "kafka": kafka_version,
            "kafka_bridge": bridge_version,
            "wrk": _first_line(["wrk", "-v"]),
            "go": _first_line([go, "version"]),
        },
        "git": {"commit": _git("rev-parse", "HEAD"), "dirty": bool(_git("status", "--porcelain"))},
    }
