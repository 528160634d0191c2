"""Running the project's commands as their own processes from async tests (the event loop goes on meanwhile)."""

import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass

WITHIN_SECONDS = 60


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def run_module(module: str, *args: str, env: Mapping[str, str]) -> Ran:
    """`python -m module args...` with `env`: what it printed and its exit code (within a minute)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=WITHIN_SECONDS)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
