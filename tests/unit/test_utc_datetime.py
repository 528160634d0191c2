"""UtcDateTime on SQLite writes and reads the text SQLAlchemy's own processors do, only faster."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from services.contract.database import UtcDateTime

SQLITE = sqlite.dialect()

TIMES = [
    datetime(2026, 12, 7, 7, 30, 42, 123456, tzinfo=UTC),
    datetime(2026, 12, 7, 7, 30, 42, tzinfo=UTC),  # no microseconds: still written to the microsecond
    datetime(2026, 12, 7, 2, 30, 42, 5, tzinfo=timezone(timedelta(hours=-5))),  # stored as its UTC time
    datetime(2026, 3, 29, 1, 0, tzinfo=timezone(timedelta(hours=1, minutes=30))),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def sqlalchemys(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The processors SQLAlchemy composes for the type: its dialect's own, around process_bind_param and
    process_result_value."""
    adapted = UtcDateTime().dialect_impl(dialect)
    assert isinstance(adapted, UtcDateTime)
    bind: Callable[[Any], Any] | None = TypeDecorator.bind_processor(adapted, dialect)
    result: Callable[[Any], Any] | None = TypeDecorator.result_processor(adapted, dialect, None)
    assert bind is not None
    assert result is not None
    return bind, result


def ours(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    kind = UtcDateTime()
    bind, result = kind._cached_bind_processor(dialect), kind._cached_result_processor(dialect, None)
    assert bind is not None
    assert result is not None
    return bind, result


@pytest.mark.parametrize("time", TIMES, ids=str)
def test_a_time_is_written_and_read_back_as_sqlalchemy_does(time: datetime) -> None:
    (bind, result), (their_bind, their_result) = ours(SQLITE), sqlalchemys(SQLITE)
    assert bind is not their_bind
    text = bind(time)
    assert text == their_bind(time)
    assert result(text) == their_result(text) == time
    assert result(text).tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2026-12-07 07:30:42", "2026-12-07", "2026-12-07 07:30:42.5", "2026-12-07 07:30:42.123"],
)
def test_a_shorter_text_reads_as_sqlalchemy_reads_it(text: str) -> None:
    (_, result), (_, their_result) = ours(SQLITE), sqlalchemys(SQLITE)
    assert result(text) == their_result(text)
    assert result(text).tzinfo is not None


def test_a_text_with_a_zone_of_its_own_is_read_by_sqlalchemys_processor() -> None:
    _, result = ours(SQLITE)
    _, their_result = sqlalchemys(SQLITE)
    text = "2026-12-07 07:30:42.000001+01:00"
    assert result(text) == their_result(text)


def test_none_stays_none_and_a_naive_time_is_refused() -> None:
    bind, result = ours(SQLITE)
    assert bind(None) is None
    assert result(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        bind(datetime(2026, 12, 7, 7, 30))


def test_another_storage_format_keeps_sqlalchemys_processor() -> None:
    """A type storing another text (here without microseconds) gets SQLAlchemy's processor, not a wrong text."""
    kind = UtcDateTime()
    seconds = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
    kind.impl = sqlite.DATETIME(storage_format=seconds)  # type: ignore[no-untyped-call]
    bind = kind._cached_bind_processor(SQLITE)
    assert bind is not None
    assert bind(TIMES[0]) == "2026-12-07 07:30:42"


def test_other_databases_get_the_aware_utc_time_as_before() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    bind = UtcDateTime()._cached_bind_processor(dialect)
    value = bind(TIMES[2]) if bind is not None else UtcDateTime().process_bind_param(TIMES[2], dialect)
    assert value == TIMES[2]
    assert value.tzinfo is UTC
