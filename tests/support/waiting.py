"""Waiting on a condition with a deadline: the tests' only way to wait."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 30.0, what: str = "condition") -> T:
    """Call `probe` until it returns something truthy; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}; last value: {last!r}")
