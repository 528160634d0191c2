"""Starting a service process: settings validated, JSON logs configured, uvicorn serving the app."""

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from services.contract import logs
from services.contract.ops import bearer_token, install_http_middleware, ops_router
from services.contract.runtime import Runtime
from services.contract.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def serve(settings_class: type[S], build_app: Callable[[S], FastAPI]) -> None:
    settings = settings_class.load()
    logs.configure(settings.service_name, settings.log_level)
    server = uvicorn.Server(server_config(settings, build_app(settings)))
    if not settings.http_reuse_port:
        server.run()
        return
    with _shared_port(settings.http_host, settings.http_port) as listening:
        server.run(sockets=[listening])


def server_config(settings: ServiceSettings, app: FastAPI) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=round(settings.http_keep_alive_seconds),
        # Event streams never end by themselves: on SIGTERM, requests still open after the grace are cut.
        timeout_graceful_shutdown=round(settings.shutdown_grace_seconds),
    )


def _shared_port(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that other processes may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listening.bind((host, port))
    return listening


def consumer_app(title: str, runtime: Runtime, ops_token_file: Path | None) -> FastAPI:
    """The HTTP face of a consuming service: /health, /ready and /metrics around its runtime; public, or behind
    the bearer token of `ops_token_file`."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    guard = [] if ops_token_file is None else [bearer_token(ops_token_file)]
    app.include_router(ops_router(runtime.settings.service_name, runtime, guard))
    install_http_middleware(app, runtime.tracing)
    return app
