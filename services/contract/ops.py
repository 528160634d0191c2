"""Operations endpoints and HTTP middleware every service mounts: /health, /ready, /metrics, correlation ids."""

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

CORRELATION_HEADER = "X-Correlation-ID"
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


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
    return "unmatched"


def install_http_middleware(app: FastAPI) -> None:
    """Correlation id in and out of every request, and the latency histogram by route and status."""

    @app.middleware("http")
    async def _observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        cid = incoming if _VALID_CORRELATION.match(incoming) else str(uuid.uuid4())
        token = correlation_id.set(cid)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            correlation_id.reset(token)
        HTTP_REQUESTS.labels(request.method, _route_template(app, request), response.status_code).observe(
            time.perf_counter() - started
        )
        response.headers[CORRELATION_HEADER] = cid
        return response
