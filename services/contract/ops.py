"""Operations endpoints and HTTP middleware every service mounts: /health, /ready, /metrics, correlation ids,
and a trace span per request when tracing is on."""

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response, params
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Match

from services.contract.logs import correlation_id
from services.contract.metrics import HTTP_REQUESTS
from services.contract.runtime import Runtime
from services.contract.tracing import Tracing, answered

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


def _route_template(app: FastAPI, request: Request) -> str:
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match is Match.FULL:
            return str(getattr(route, "path", request.url.path))
    return _UNMATCHED


def install_http_middleware(app: FastAPI, tracing: Tracing) -> None:
    """Correlation id in and out of every request, the latency histogram by route and status, and a server span
    (named after the route template) that continues the caller's ``traceparent`` (a no-op when tracing is off)."""

    @app.middleware("http")
    async def _observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        cid = incoming if _VALID_CORRELATION.match(incoming) else str(uuid.uuid4())
        token = correlation_id.set(cid)
        started = time.perf_counter()
        with tracing.server_span(request) as span:
            try:
                response = await call_next(request)
            finally:
                correlation_id.reset(token)
            route = _route_template(app, request)
            answered(span, request.method, None if route == _UNMATCHED else route, response.status_code)
        HTTP_REQUESTS.labels(request.method, route, response.status_code).observe(time.perf_counter() - started)
        response.headers[CORRELATION_HEADER] = cid
        return response
