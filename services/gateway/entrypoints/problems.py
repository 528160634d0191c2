"""Every error the gateway returns, as RFC 9457 problem details, mapped in this one place."""

import logging
import sys
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.contract.database import is_unavailable
from services.contract.logs import correlation_id
from services.gateway.adapters.safe_xml import XmlRefused
from services.gateway.domain.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    NotFound,
    Overloaded,
    RateLimited,
    RetryLater,
    Unprocessable,
    UnsupportedMediaType,
)
from services.gateway.entrypoints.bodies import not_json
from services.gateway.entrypoints.schemas import FieldProblem, Problem

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_STATUS: dict[type[GatewayError], tuple[int, str]] = {
    NotFound: (404, "Not found"),
    Forbidden: (403, "Forbidden"),
    Conflict: (409, "Conflict"),
    Unprocessable: (422, "Invalid request"),
    Overloaded: (503, "Service unavailable"),
    RateLimited: (429, "Too many requests"),
    UnsupportedMediaType: (415, "Unsupported media type"),
}


def problem_response(
    request: Request, status: int, title: str, detail: str, errors: list[FieldProblem] | None = None
) -> JSONResponse:
    body = Problem(
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        correlation_id=correlation_id.get(),
        errors=errors or [],
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, media_type=PROBLEM_JSON)


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Error responses as they are sent: FastAPI puts a response model's schema under application/json, but where a
    route declares application/problem+json for a status (the routes' PROBLEMS), that is the only type it answers."""
    for methods in spec["paths"].values():
        for operation in methods.values():
            for response in operation["responses"].values():
                content = response.get("content", {})
                if PROBLEM_JSON in content and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return spec


def _unavailable(request: Request) -> JSONResponse:
    response = problem_response(
        request, 503, "Service unavailable", "the gateway's database is unavailable; nothing was stored, retry later"
    )
    response.headers["Retry-After"] = "5"
    return response


_DATABASE_PACKAGES = frozenset({"sqlalchemy", "asyncpg", "aiosqlite"})


def _from_database(exc: OSError) -> bool:
    """Whether `exc` was raised inside SQLAlchemy or a database driver: a connection the driver could not open
    (refused, reset, timed out) arrives as a bare OSError, which SQLAlchemy does not wrap in a DBAPIError. An
    OSError from anywhere else (a file, another client's socket) is no database outage. The innermost frame
    outside the standard library says where it was raised; any frame of SQLAlchemy would not do, since SQLAlchemy
    also runs code of ours (`run_sync`, event listeners, column types)."""
    raisers = [
        package
        for frame, _ in traceback.walk_tb(exc.__traceback__)
        if (package := str(frame.f_globals.get("__name__", "")).partition(".")[0]) not in sys.stdlib_module_names
        and package not in _EVENT_LOOPS
    ]
    return bool(raisers) and raisers[-1] in _DATABASE_PACKAGES


_EVENT_LOOPS = frozenset({"uvloop"})
"""Event loops outside the standard library: a refused connection is raised in the loop's code, under the driver
that asked for it, as asyncio's own loop raises it in asyncio."""


def _path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldProblem(path=_path(tuple(e["loc"])), message=e["msg"]) for e in exc.errors()]
        log.info("rejected invalid request", extra={"errors": [e.path for e in errors]})
        return problem_response(request, 422, "Invalid request", f"{len(errors)} field(s) are invalid", errors)

    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        status, title = next((value for kind, value in _STATUS.items() if isinstance(exc, kind)), (400, "Bad request"))
        errors = [FieldProblem(path=f"body.{exc.field}", message=exc.detail)] if exc.field else []
        response = problem_response(request, status, title, exc.detail, errors)
        if isinstance(exc, RetryLater):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response

    @app.exception_handler(XmlRefused)
    async def _xml(request: Request, exc: XmlRefused) -> JSONResponse:
        status, title = (413, "Request too large") if exc.too_large else (422, "Invalid XML document")
        errors = [FieldProblem(path=f"body.{exc.path}", message=str(exc))] if exc.path else []
        return problem_response(request, status, title, str(exc), errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
            # FastAPI's "error parsing the body": a JSON body it could not decode, answered as every other one is.
            return await _invalid(request, not_json(exc.__cause__))
        response = problem_response(request, exc.status_code, str(exc.detail), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if not is_unavailable(exc):
            return _internal_error(request, exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return _unavailable(request)

    @app.exception_handler(OSError)
    async def _network(request: Request, exc: OSError) -> JSONResponse:
        if not _from_database(exc):
            return _internal_error(request, exc)
        log.warning("database unreachable on %s %s: %s", request.method, request.url.path, exc)
        return _unavailable(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only what escapes UnexpectedErrors comes here, outside every middleware: the last resort's last resort.
        return _internal_error(request, exc)


class UnexpectedErrors:
    """A 500 problem for an exception that no handler took (plain ASGI). Starlette's own last resort, where the
    `Exception` handler runs, sits outside every middleware: there the request's correlation id is already gone,
    from the answer and from the log line alike. Mounted inside the middleware that sets it, this answers with
    it. The exception is logged here, with its traceback, and not raised on to the server; if the response had
    already started, the 500 cannot be sent, and it is raised on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def answer(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, answer)
        except Exception as exc:
            if started:
                raise
            await _internal_error(Request(scope, receive), exc)(scope, receive, send)


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request, 500, "Internal error", "the gateway failed; the correlation id identifies the log lines"
    )
