"""Reading the container deployment (docker-compose.yml and the runtime stage of deploy/docker/Dockerfile) as
data, for the tests that hold the code to it."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"

Services = dict[str, dict[str, Any]]
"""The `services` of the compose file, by name."""


def compose_file() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either of compose's two forms, as strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def published_ports(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host port, container port) for every entry of `ports`, short or long syntax."""
    pairs = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pairs.append((str(entry.get("published", "")), str(entry["target"])))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        container = parts[-1]
        host = parts[-2] if len(parts) >= 2 else ""
        pairs.append((host, container))
    return pairs


def mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read only) for every entry of `volumes`, short or long syntax."""
    found = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            found.append((str(entry.get("source", "")), str(entry["target"]), bool(entry.get("read_only"))))
            continue
        source, target, *mode = str(entry).split(":")
        found.append((source, target, "ro" in ",".join(mode).split(",")))
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def runtime_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def image_environment() -> dict[str, str]:
    """The ENV of the runtime image (key=value form), which every container of the image starts with."""
    env: dict[str, str] = {}
    for keyword, rest in runtime_stage():
        if keyword == "ENV":
            env |= dict(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", rest))
    return env


def effective_command(service: dict[str, Any]) -> list[str]:
    if "command" in service:
        command = service["command"]
        return [str(part) for part in command] if isinstance(command, list) else str(command).split()
    cmd = [rest for keyword, rest in runtime_stage() if keyword == "CMD"][-1]
    parsed = json.loads(cmd)
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]
