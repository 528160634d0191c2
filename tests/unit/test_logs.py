"""The JSON log lines every service writes (services/contract/logs.py)."""

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.contract.logs import JsonFormatter, RepeatFilter, correlated


@pytest.fixture
def lines() -> Iterator[list[str]]:
    """What a logger with the services' formatter and filter writes, a line a record."""
    written: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            written.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter("customs"))
    handler.addFilter(RepeatFilter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield written
    logger.removeHandler(handler)


def test_a_line_is_one_json_object_with_the_message_its_context_and_extras(lines: list[str]) -> None:
    with correlated("corr-1"):
        logging.getLogger("tests.logs").info(
            "declaration %s: %s lane", "D1", "green", extra={"at": datetime(2026, 12, 7, tzinfo=UTC), "items": 3}
        )
    [line] = lines
    assert "\n" not in line
    logged = json.loads(line)
    assert datetime.fromisoformat(logged.pop("time")).tzinfo is not None
    assert logged == {
        "level": "INFO",
        "service": "customs",
        "logger": "tests.logs",
        "message": "declaration D1: green lane",
        "correlation_id": "corr-1",
        "at": "2026-12-07T00:00:00+00:00",
        "items": 3,
    }


def test_an_exception_is_in_its_line(lines: list[str]) -> None:
    try:
        raise ValueError("no rate")
    except ValueError:
        logging.getLogger("tests.logs").exception("decision failed")
    logged = json.loads(lines[0])
    assert logged["message"] == "decision failed"
    assert logged["exception"].startswith("Traceback")
    assert "ValueError: no rate" in logged["exception"]


def test_values_json_cannot_hold_are_written_as_text(lines: list[str]) -> None:
    logging.getLogger("tests.logs").info("odd values", extra={"thing": object, "huge": 2**70, "keys": {1: "one"}})
    logged = json.loads(lines[0])
    assert (logged["thing"], logged["huge"], logged["keys"]) == ("<class 'object'>", 2**70, {"1": "one"})
