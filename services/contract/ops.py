"""Operations endpoints and HTTP middleware every service mounts: /health, /ready, /metrics, correlation ids,
and a trace span per request when tracing is on."""

import hmac
import logging
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response, params
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.contract.logs import correlated
from services.contract.metrics import HTTP_REQUESTS
from services.contract.runtime import Runtime
from services.contract.tracing import Tracing, answered

log = logging.getLogger(__name__)
CORRELATION_HEADER = "X-Correlation-ID"
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_UNMATCHED = "unmatched"


def ops_router(service: str, runtime: Runtime, dependencies: Sequence[params.Depends] = ()) -> APIRouter:
    """/health, /ready and /metrics; `dependencies` guard them when they are not public."""
    router = APIRouter(tags=["operations"], dependencies=dependencies)

    @router.get("/health", summary="The process is alive; shows the state of its dependencies")
    async def health() -> dict[str, object]:
        return {"status": "alive", "service": service, **runtime.health()}

    @router.get("/ready", summary="The service can do its job", responses={503: {"description": "Not ready"}})
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "service": service, "checks": checks}, status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def bearer_token(token_file: Path) -> params.Depends:
    """A guard for operations endpoints: the request must carry `Authorization: Bearer <token>`, the token being
    the file's content. The file is read at every request, so a rotated token counts at once; an empty or
    unreadable file lets no one in."""

    def guard(request: Request) -> None:  # FastAPI runs it in its thread pool: reading the file blocks no loop
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        try:
            expected = token_file.read_text().strip()
        except OSError as exc:
            log.error("operations token file %s not read (%s): every operations request is refused", token_file, exc)
            expected = ""
        if not (expected and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)):
            raise HTTPException(
                401, "an operations token is needed: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )

    return params.Depends(guard)


class _Observed:
    """Correlation id in and out of every request, the latency histogram by route and status, and a server span
    (named after the route template) that continues the caller's ``traceparent`` (a no-op when tracing is off).

    Plain ASGI: the request runs in the server's task, without the extra task and streams of a function
    middleware."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        incoming = request.headers.get(CORRELATION_HEADER, "")
        cid = incoming if _VALID_CORRELATION.match(incoming) else str(uuid.uuid4())
        status = 500  # unless the application answers: an exception escaping it becomes a 500 further out

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[CORRELATION_HEADER] = cid
            await send(message)

        started = time.perf_counter()
        with correlated(cid), self.tracing.server_span(request) as span:
            try:
                await self.app(scope, receive, answer)
            finally:
                # The router leaves the route it matched in the scope: its template names the span and the series.
                route = getattr(scope.get("route"), "path", None)
                answered(span, request.method, route, status)
                HTTP_REQUESTS.labels(request.method, route or _UNMATCHED, status).observe(time.perf_counter() - started)


def install_http_middleware(app: FastAPI, tracing: Tracing) -> None:
    """Observe every request (see `_Observed`); the outermost of the application's middleware."""
    app.add_middleware(_Observed, tracing=tracing)
