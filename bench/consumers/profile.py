"""A short account of a py-spy profile (speedscope JSON): where the samples fall, by area, by function and by the
project's own functions including what they call. Pure: it reads the profile's JSON, nothing else."""

from collections import Counter
from typing import Any

from deploy.stack import REPO

AREAS: tuple[tuple[str, str], ...] = (
    ("/aiosqlite/", "SQLite driver (aiosqlite, sqlite3)"),
    ("/sqlite3/", "SQLite driver (aiosqlite, sqlite3)"),
    # sqlite3's C calls show as the frame that makes them: on the loop's thread, that is this module.
    ("services/contract/sqlite_inline.py", "SQLite driver (aiosqlite, sqlite3)"),
    ("/asyncpg/", "PostgreSQL driver (asyncpg)"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/alembic/", "migrations (alembic, start-up)"),
    ("/pydantic", "pydantic"),
    ("/aiokafka/", "aiokafka"),
    ("/kafka/", "aiokafka"),
    ("/logging/", "logging"),
    ("services/contract/logs.py", "logging"),
    ("/json/", "json"),
    ("/asyncio/", "asyncio event loop"),
    ("/uvloop/", "asyncio event loop"),
    ("services/gateway/entrypoints/", "gateway HTTP (entrypoints)"),
    ("services/gateway/", "gateway service layer, domain and adapters"),
    ("services/customs/domain/", "customs rules (domain)"),
    ("services/phyto/domain/", "phyto rules (domain)"),
    ("services/customs/", "customs service layer"),
    ("services/phyto/", "phyto service layer"),
    ("services/contract/", "contract (consumer, inbox, outbox, envelopes)"),
    ("/opentelemetry/", "tracing (off)"),
    ("<frozen importlib", "imports (start-up)"),
    ("/uvicorn/", "uvicorn"),
    ("/fastapi/", "fastapi"),
)
"""The first fragment a frame's file contains names its area; else "other"."""


LOOP_IN_C = "event loop in C (uvloop: I/O and scheduling)"
"""A sample whose innermost Python frame is asyncio's Runner.run is inside uvloop's C loop (waiting is not
sampled: py-spy leaves idle threads out)."""


def area_of(frame: dict[str, Any]) -> str:
    file = str(frame.get("file") or "")
    if frame.get("name") == "Runner.run" and file.endswith("asyncio/runners.py"):
        return LOOP_IN_C
    return next((area for fragment, area in AREAS if fragment in file), "other")


def function_of(frame: dict[str, Any]) -> str:
    """The frame's function and file, without the line (py-spy gives each line of a function a frame of its own),
    the file named from its package: a library's from site-packages, the project's from the repository's root, this
    checkout's or another's (a worktree profiled), so that a function has one name wherever it ran."""
    file = str(frame.get("file") or "")
    if "site-packages/" in file:
        short = file.split("site-packages/", 1)[1]
    elif file.startswith(_ROOT):
        short = file[len(_ROOT) :]
    else:
        short = file.split("/lib/python3", 1)[-1]
        for top in _PROJECT_PACKAGES:
            if top in short:
                short = top[1:] + short.rsplit(top, 1)[1]
                break
    return f"{frame.get('name', '?')} ({short})"


_ROOT = f"{REPO}/"
_PROJECT_PACKAGES = ("/services/", "/bench/", "/deploy/")
"""The repository's top-level packages: a file of another checkout under one is named from there."""


def _own(frame: dict[str, Any]) -> bool:
    file = str(frame.get("file") or "")
    return "site-packages" not in file and "/services/" in f"/{file}"


def summarise(speedscope: dict[str, Any], top: int = 15) -> dict[str, Any]:
    """Samples per thread; the share of samples whose innermost frame is in each area, and in each function; the
    share of samples in which each of the project's functions is on the stack (itself or what it calls)."""
    frames: list[dict[str, Any]] = speedscope["shared"]["frames"]
    names = [function_of(frame) for frame in frames]
    threads: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total, samples = 0.0, 0
    for profile in speedscope["profiles"]:
        weights = profile.get("weights") or [1] * len(profile["samples"])
        for stack, weight in zip(profile["samples"], weights, strict=True):
            if not stack:
                continue
            total += weight
            samples += 1
            threads[profile.get("name", "?")] += weight
            leaf = stack[-1]  # speedscope stacks run from the root to the innermost frame
            leaves[names[leaf]] += weight
            areas[area_of(frames[leaf])] += weight
            for name in {names[index] for index in stack if _own(frames[index])}:
                inclusive[name] += weight

    def share(weight: float) -> float:
        return round(weight / total, 4) if total else 0.0

    return {
        "samples": samples,
        "threads": {name: share(weight) for name, weight in threads.most_common()},
        "areas": [{"area": area, "share": share(weight)} for area, weight in areas.most_common()],
        "self": [{"function": name, "share": share(weight)} for name, weight in leaves.most_common(top)],
        "inclusive": [{"function": name, "share": share(weight)} for name, weight in inclusive.most_common(top)],
    }


def tables(heading: str, profile: dict[str, Any]) -> list[str]:
    """A profile's account (`summarise`, with its `file` and `rate_hz`) in Markdown under `heading`; nothing for a
    profile without samples."""
    if not profile["samples"]:
        return []
    return [
        f"**{heading}** ({profile['samples']:,} samples at {profile['rate_hz']} Hz, `bench/results/{profile['file']}`, "
        "open it in https://www.speedscope.app): "
        + ", ".join(f"{name} {share:.0%}" for name, share in profile["threads"].items()),
        "",
        "| where the innermost frame is | share |",
        "|---|--:|",
        *(f"| {row['area']} | {row['share']:.1%} |" for row in profile["areas"][:10]),
        "",
        "| project function, with what it calls | share of samples |",
        "|---|--:|",
        *(f"| `{row['function']}` | {row['share']:.1%} |" for row in profile["inclusive"][:12]),
        "",
        "| innermost function | share |",
        "|---|--:|",
        *(f"| `{row['function']}` | {row['share']:.1%} |" for row in profile["self"][:10]),
    ]
