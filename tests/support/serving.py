"""Serving an app that already runs in the test process over real HTTP on loopback (for streams, which an
in-memory transport cannot carry), and reading the server-sent events it streams."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support.waiting import eventually


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app's base URL while it is served; its lifespan is the caller's business."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None, timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started, within=10, what="uvicorn to listen")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse a text/event-stream: each event's id, type and data."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":") and ":" in line:
            name, value = line.split(":", 1)
            event[name] = value.strip()
