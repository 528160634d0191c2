"""Unexpected errors answer a bare 500 problem; only the database's own connection errors answer 503."""

import logging
from pathlib import Path

import httpx
import pytest
import uvloop
from fastapi import FastAPI, Request
from sqlalchemy import Connection

from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.entrypoints.http import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from tests.support.broker import free_port
from tests.support.in_process import DEV_KEYS, TRADER_KEY

SECRET = "postgresql://gateway:hunter2@db.internal/gateway"


def gateway(database_url: str) -> FastAPI:
    """The gateway app as the tests build it, not started: these requests need neither Kafka nor migrations."""
    settings = GatewaySettings(
        database_url=database_url, environment="development", dev_keys_file=DEV_KEYS, kafka_bootstrap="127.0.0.1:9"
    )
    return gateway_app(bootstrap_gateway(settings))


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """The gateway with throwaway routes that fail the ways a handler can."""
    app = gateway(f"sqlite+aiosqlite:///{tmp_path}/gateway.db")

    async def bug() -> None:
        raise RuntimeError(f"could not use {SECRET}")

    async def missing_file() -> None:
        raise FileNotFoundError(2, "No such file or directory", "/etc/single-window/rules.yaml")

    async def os_error_inside_sqlalchemy(request: Request) -> None:
        def notify(connection: Connection) -> None:  # code of ours that SQLAlchemy calls
            raise ConnectionResetError(104, "Connection reset by peer (the webhook receiver)")

        async with request.app.state.gateway.runtime.engine.connect() as connection:
            await connection.run_sync(notify)

    app.add_api_route("/test/bug", bug)
    app.add_api_route("/test/missing-file", missing_file)
    app.add_api_route("/test/os-error-inside-sqlalchemy", os_error_inside_sqlalchemy)
    return app


async def get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # an exception that escaped the gateway would fail the test here
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.get(path, headers=TRADER_KEY)


async def test_an_unexpected_error_answers_a_500_problem_without_its_traceback_or_message(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    response = await get(app, "/test/bug")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    correlation_id = response.headers["x-correlation-id"]
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal error",
        "status": 500,
        "detail": "the gateway failed; the correlation id identifies the log lines",
        "instance": "/test/bug",
        "correlation_id": correlation_id,
        "errors": [],
    }
    for internal in ("Traceback", "RuntimeError", "hunter2", "test_problems.py", 'File "'):
        assert internal not in response.text
    [logged] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert logged.exc_info is not None
    assert SECRET in str(logged.exc_info[1])  # the log keeps what the answer leaves out


@pytest.mark.parametrize("path", ["/test/missing-file", "/test/os-error-inside-sqlalchemy"])
async def test_an_os_error_outside_the_database_is_an_internal_error_not_an_outage(app: FastAPI, path: str) -> None:
    response = await get(app, path)

    assert response.status_code == 500
    assert response.json()["title"] == "Internal error"
    assert "retry-after" not in response.headers
    assert "rules.yaml" not in response.text


async def refused() -> httpx.Response:
    # Nothing listens on the port: asyncpg's refused connection reaches the gateway as a bare OSError.
    unreachable = gateway(f"postgresql+asyncpg://sw@127.0.0.1:{free_port()}/gateway")
    return await get(unreachable, "/v1/declarations")


def test_a_database_that_refuses_the_connection_answers_503_on_uvloop_too() -> None:
    """The services run on uvloop, where the refusal is raised in the loop's code, not in asyncio's."""
    response = uvloop.run(refused())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


async def test_a_database_that_refuses_the_connection_answers_503_with_retry_after() -> None:
    response = await refused()

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    problem = response.json()
    assert (problem["title"], problem["detail"]) == (
        "Service unavailable",
        "the gateway's database is unavailable; nothing was stored, retry later",
    )
    assert problem["correlation_id"] == response.headers["x-correlation-id"]
