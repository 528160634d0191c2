"""The gateway's FastAPI application: routes, problem details, ops endpoints, lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.contract.ops import install_http_middleware, ops_router
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Role
from services.gateway.entrypoints import problems, response_examples
from services.gateway.entrypoints.deps import allow
from services.gateway.entrypoints.fast_lodging import FastLodging, lanes
from services.gateway.entrypoints.routes import (
    amendments,
    arrivals,
    certificates,
    declarations,
    notifications,
    operations,
)


def routers(gateway: Gateway) -> list[APIRouter]:
    """Every router of the gateway's API (the OpenAPI document's operations)."""
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


class _BodyTooLarge(Exception):
    """The request body passed the limit while the application read it; `_BodyLimit` answers it."""


class _BodyLimit:
    """413 for a request body over the limit (plain ASGI): refused before reading when its Content-Length says so,
    and otherwise counted as the application reads it, since a chunked body has no Content-Length and a server
    need not hold a body to the one it announced.

    The application reads through a counting `receive`. The message that passes the limit is never handed on:
    that call, and any later one, raises `_BodyTooLarge`, so no handler acts on a body it did not get whole.
    The application may let the exception through or make its own answer of it (FastAPI answers 400 to a body
    it could not read); either way this middleware drops whatever the application sends after the limit was
    passed and answers the 413 itself, so the caller gets one answer, the same problem details as for a declared
    length. Raising beats answering from inside `receive` and then feigning `http.disconnect`: the handler stops
    at once, and the response is sent from one place, after the application has finished. Should the
    application have started its response before reading past the limit, the 413 can no longer be sent and the
    exception is raised on, to the server, which then breaks off the response."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(request, receive, send)
            return
        received = 0
        over_limit = started = False

        async def counted() -> Message:
            nonlocal received, over_limit
            if over_limit:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over_limit = True
                    raise _BodyTooLarge
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over_limit and not started:
                return  # the application's answer to a body it did not get whole: the 413 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except _BodyTooLarge:
            if started:
                raise
        if over_limit and not started:
            await self._refuse(request, receive, send)

    async def _refuse(self, request: Request, receive: Receive, send: Send) -> None:
        refusal = problems.problem_response(
            request, 413, "Request too large", f"the body must not exceed {self.limit} bytes"
        )
        await refusal(request.scope, receive, send)


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
    fast = lanes()
    app.state.fast_lanes = {lane.path: lane.counts for lane in fast}
    if gateway.settings.fast_lodging:
        app.add_middleware(FastLodging, gateway=gateway, lanes=fast, routes=app.routes)
    app.add_middleware(_BodyLimit, limit=gateway.settings.max_body_bytes)
    # Each one added wraps those before it: unexpected errors are answered inside the correlation id's middleware,
    # and outside _BodyLimit, whose exception ends a request whose response had already started.
    app.add_middleware(problems.UnexpectedErrors)
    install_http_middleware(app, gateway.runtime.tracing)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document(response_examples.document(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
