"""The gateway's FastAPI application: routes, problem details, ops endpoints, lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.contract.ops import install_http_middleware, ops_router
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Role
from services.gateway.entrypoints import problems, response_examples
from services.gateway.entrypoints.deps import allow
from services.gateway.entrypoints.routes import (
    amendments,
    arrivals,
    certificates,
    declarations,
    notifications,
    operations,
)


def routers(gateway: Gateway) -> list[APIRouter]:
    """Every router of the gateway; access.py reads the role-by-endpoint table from them."""
    guard = [] if gateway.settings.ops_public else [Depends(allow(Role.OPERATOR))]
    return [
        declarations.router,
        amendments.router,
        arrivals.router,
        certificates.router,
        notifications.router,
        operations.router,
        ops_router(gateway.settings.service_name, gateway.runtime, guard),
    ]


class _BodyLimit:
    """413 for a request whose Content-Length exceeds the limit, before its body is read (plain ASGI)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.limit):
                refusal = problems.problem_response(
                    request, 413, "Request too large", f"the body must not exceed {self.limit} bytes"
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(gateway: Gateway) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.runtime.stop()

    app = FastAPI(
        title="Single Window gateway",
        version="1.0.0",
        summary="Lodge a customs declaration and its ePhyto once; get one release decision.",
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    app.state.gateway = gateway
    app.state.max_body_bytes = gateway.settings.max_body_bytes
    problems.install(app)
    for router in routers(gateway):
        app.include_router(router)
    app.include_router(operations.pages)
    app.add_middleware(_BodyLimit, limit=gateway.settings.max_body_bytes)
    install_http_middleware(app, gateway.runtime.tracing)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document(response_examples.document(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
