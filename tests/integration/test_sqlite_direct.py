"""Statements run again on SQLite go straight to its connection (`sqlite_direct`): what they write and what they
return must be what SQLAlchemy's own execution writes and returns, and what cannot run so must still run."""

import gc
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    event,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contract import sqlite_direct
from services.contract.database import UtcDateTime, create_engine, insert_unless_present, reading, writing

METADATA = MetaData()
ITEMS = Table(
    "items",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(26), nullable=False, unique=True),
    Column("note", Text, nullable=True),
    Column("size", BigInteger, nullable=False),
    Column("open", Boolean, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)
MARKS = Table(
    "marks",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_code", String(26), nullable=False),
    Column("kind", String(16), nullable=False, default="plain"),
)
AT = datetime(2026, 12, 6, 21, 40, 35, 123456, tzinfo=UTC)


def item(code: str, **changes: Any) -> dict[str, Any]:
    values = {
        "code": code,
        "note": "ä ✓ \x7f",  # non-ASCII and DEL, as a declaration's text may have
        "size": 2**40 + len(code),
        "open": True,
        "payload": b"\x00\xffkey",
        "detail": {"lines": [1, 2.5e-05, None], "name": "Grüße", "nested": {"a": True}},
        "at": AT + timedelta(seconds=len(code)),
        "closed_at": None,
    }
    return values | changes


# Each case: a statement built once (as the code builds its own), and the parameters of its first and second runs.
# The second run is the one that goes straight to SQLite.
RUN_AGAIN: dict[str, tuple[Any, Any, Any]] = {
    "insert": (insert(ITEMS), item("A1"), item("A2")),
    "insert many": (insert(MARKS), [{"item_code": "S1", "kind": "x"}] * 3, [{"item_code": "S2", "kind": "y"}] * 2),
    "insert returning": (insert(ITEMS).returning(*ITEMS.c), item("B1"), item("B2", note=None, open=False)),
    "insert or nothing, returning": (
        insert_unless_present("sqlite", ITEMS, returning_all_but=frozenset({"payload"})),
        item("C1"),
        item("S1"),  # taken: nothing is written, and no row comes back
    ),
    "select by a parameter and a value in the statement": (
        select(ITEMS).where(ITEMS.c.code == bindparam("code"), ITEMS.c.open.is_(True), ITEMS.c.note != "none"),
        {"code": "S1"},
        {"code": "S2"},
    ),
    "select by a parameter given for a name the statement binds a value to": (
        select(ITEMS.c.code).where(ITEMS.c.code == bindparam("code", value="S3")),
        {"code": "S1"},
        {"code": "S2"},
    ),
    "select by a value the statement computes": (
        select(ITEMS.c.code).where(ITEMS.c.code == bindparam("code", callable_=lambda: "S2")),
        None,
        None,
    ),
    "select with a join, labels and aggregates": (
        select(ITEMS.c.id, MARKS.c.kind, func.count().label("marks"), func.max(ITEMS.c.at), func.count())
        .join(MARKS, MARKS.c.item_code == ITEMS.c.code)
        .group_by(ITEMS.c.id, MARKS.c.kind)
        .order_by(ITEMS.c.id, MARKS.c.kind),
        None,
        None,
    ),
    "update many": (
        update(ITEMS).where(ITEMS.c.code == bindparam("item")).values(closed_at=bindparam("closed"), open=False),
        [{"item": "S1", "closed": AT}, {"item": "nothing", "closed": AT}],
        [{"item": "S2", "closed": AT + timedelta(days=1)}, {"item": "S3", "closed": AT}],
    ),
    "update returning": (
        update(ITEMS).where(ITEMS.c.code == bindparam("item")).values(detail={"v": 2}).returning(ITEMS.c.detail),
        {"item": "S2"},
        {"item": "S3"},
    ),
    "delete": (delete(MARKS).where(MARKS.c.kind == bindparam("kind")), {"kind": "seed"}, {"kind": "nothing"}),
    "select IN a list of text": (
        select(ITEMS.c.code).where(ITEMS.c.code.in_(bindparam("codes", expanding=True))).order_by(ITEMS.c.code),
        {"codes": ["S1", "S3"]},
        {"codes": ["S3", "none", "ä ✓", "S2", "S3"]},  # another length, a value twice, ones nothing has
    ),
    "select IN a list, empty": (
        select(ITEMS.c.code).where(ITEMS.c.code.in_(bindparam("codes", expanding=True))),
        {"codes": ["S1"]},
        {"codes": []},
    ),
    "select NOT IN a list, empty": (
        select(ITEMS.c.code).where(ITEMS.c.code.not_in(bindparam("codes", expanding=True))).order_by(ITEMS.c.code),
        {"codes": ["S1"]},
        {"codes": []},
    ),
    "select IN a list of integers, and by another parameter": (
        select(ITEMS.c.code)
        .where(ITEMS.c.size.in_(bindparam("sizes", expanding=True)), ITEMS.c.code != bindparam("other"))
        .order_by(ITEMS.c.code),
        {"sizes": [2**40 + 2], "other": "S1"},
        {"sizes": [2**40 + 2, 2**40 + 3, 7], "other": "S3"},  # 64-bit values, as SQLite keeps them
    ),
    "update IN a list, a time set": (
        update(ITEMS)
        .where(ITEMS.c.code.in_(bindparam("codes", expanding=True)))
        .values(closed_at=bindparam("closing")),
        {"codes": ["S1"], "closing": AT},
        {"codes": ["S2", "S3", "none"], "closing": AT + timedelta(hours=1)},
    ),
    "insert many, returning": (
        insert(MARKS).returning(MARKS.c.id, MARKS.c.item_code, MARKS.c.kind),
        [{"item_code": "S2", "kind": "m"}, {"item_code": "S3", "kind": "n"}],
        [{"item_code": "S3", "kind": "o"}, {"item_code": "S1", "kind": "p"}, {"item_code": "S2", "kind": "q"}],
    ),
    "insert many, returning, in statements of 64, 32 and 4 rows": (
        insert(MARKS).returning(MARKS.c.id, MARKS.c.item_code),
        [{"item_code": "S2", "kind": "m"}] * 3,
        [{"item_code": f"S{n}", "kind": "r"} for n in range(100)],
    ),
    "insert many or nothing, returning": (
        insert_unless_present("sqlite", ITEMS, returning_all_but=frozenset({"payload", "detail"})),
        [item("D1"), item("S1")],
        [item("D2"), item("S2"), item("D1"), item("D3")],  # the taken ones come back as nothing
    ),
}


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two databases with the same rows: one written only through SQLAlchemy, one written directly where it can."""
    sqlalchemys, direct = (create_engine(f"sqlite+aiosqlite:///{tmp_path / name}") for name in ("a.db", "b.db"))
    for engine in (sqlalchemys, direct):
        async with writing(engine) as connection:
            await connection.run_sync(METADATA.create_all)
            await connection.execute(insert(ITEMS).values([item(code) for code in ("S1", "S2", "S3")]))
            await connection.execute(insert(MARKS).values([{"item_code": "S1", "kind": "seed"}] * 2))
    yield sqlalchemys, direct
    for engine in (sqlalchemys, direct):
        await engine.dispose()


@contextmanager
def sent_by_sqlalchemy(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL SQLAlchemy's execution sends to the driver while the block runs (a direct run sends it itself)."""
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)


async def answer(engine: AsyncEngine, statement: Any, parameters: Any, *, sqlalchemy_only: bool = False) -> Any:
    """What running `statement` in a write transaction returns: keys, rows (each value with its type), rowcount."""
    async with writing(engine) as connection:
        execute = AsyncConnection.execute if sqlalchemy_only else type(connection).execute
        result = await execute(connection, statement, parameters)
        rows = [tuple((type(value), value) for value in row) for row in result.all()] if result.returns_rows else []
        return (list(result.keys()) if result.returns_rows else []), rows, result.rowcount


def stored(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as SQLite keeps them: each value with its storage class."""
    with closing(sqlite3.connect(str(engine.url.database))) as raw:
        return {
            table.name: raw.execute(
                "SELECT " + ", ".join(f'typeof("{c.name}"), "{c.name}"' for c in table.c) + f" FROM {table.name}"
            ).fetchall()
            for table in METADATA.sorted_tables
        }


@pytest.mark.parametrize("case", RUN_AGAIN)
async def test_a_statement_run_again_goes_to_sqlite_and_does_what_sqlalchemy_does(
    engines: tuple[AsyncEngine, AsyncEngine], case: str
) -> None:
    statement, first, second = RUN_AGAIN[case]
    sqlalchemys, direct = engines
    expected = [await answer(sqlalchemys, statement, p, sqlalchemy_only=True) for p in (first, second)]
    seen_once = await answer(direct, statement, first)
    with sent_by_sqlalchemy(direct) as sent:
        again = await answer(direct, statement, second)
    assert sent == [], "the second run went through SQLAlchemy"
    assert [seen_once, again] == expected
    assert stored(direct) == stored(sqlalchemys)


async def inserts_sent(engine: AsyncEngine, statement: Any, parameters: list[dict[str, Any]]) -> tuple[int, list[Any]]:
    """How many INSERT statements SQLite ran for `statement` over `parameters`, and the rows they returned."""
    async with writing(engine) as connection:
        assert isinstance(connection, sqlite_direct.DirectConnection)
        sent: list[str] = []
        connection.driver().set_trace_callback(sent.append)
        try:
            rows = (await connection.execute(statement, parameters)).all()
        finally:
            connection.driver().set_trace_callback(None)
    return sum(sql.startswith("INSERT") for sql in sent), [tuple(row) for row in rows]


async def test_an_insert_returning_over_many_sets_takes_many_rows_a_statement_unless_asked_for_their_order(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _, direct = engines
    kinds = [f"k{n}" for n in range(100)]
    many = [{"item_code": "S1", "kind": kind} for kind in kinds]
    for statement, statements in (
        (insert(MARKS).returning(MARKS.c.kind), 3),  # 64, 32 and 4 rows
        (insert(MARKS).returning(MARKS.c.kind, sort_by_parameter_order=True), 100),
    ):
        await answer(direct, statement, many[:2])  # the first run goes through SQLAlchemy
        ran, rows = await inserts_sent(direct, statement, many)
        assert ran == statements
        assert sorted(rows) == sorted((kind,) for kind in kinds)
    assert [rows[n][0] for n in range(100)] == kinds  # asked for: in the order of the sets


THROUGH_SQLALCHEMY: dict[str, tuple[Any, Any]] = {
    "IN a list of times": (
        select(ITEMS.c.code).where(ITEMS.c.at.in_(bindparam("times", expanding=True))).order_by(ITEMS.c.code),
        {"times": [AT + timedelta(seconds=2)]},
    ),
    "IN a list of pairs": (
        select(ITEMS.c.code).where(tuple_(ITEMS.c.code, ITEMS.c.open).in_(bindparam("pairs", expanding=True))),
        {"pairs": [("S1", True), ("S2", False)]},
    ),
    "IN a list of text, one with a NUL character": (  # json_each would read "S1" for the first
        select(ITEMS.c.code).where(ITEMS.c.code.in_(bindparam("codes", expanding=True))).order_by(ITEMS.c.code),
        {"codes": ["S1\x00x", "S2"]},
    ),
    "IN a list of integers, one past 53 bits": (
        select(ITEMS.c.code).where(ITEMS.c.size.in_(bindparam("sizes", expanding=True))).order_by(ITEMS.c.code),
        {"sizes": [2**40 + 2, 2**60]},
    ),
    "a Python-side default": (insert(MARKS).returning(MARKS.c.kind), {"item_code": "S2"}),
    "execution options": (select(ITEMS.c.code).order_by(ITEMS.c.code).execution_options(logging_token="checks"), None),
    "text": (text("SELECT code FROM items ORDER BY code"), None),
}


@pytest.mark.parametrize("case", THROUGH_SQLALCHEMY)
async def test_a_statement_it_cannot_run_as_sqlalchemy_would_goes_through_sqlalchemy(
    engines: tuple[AsyncEngine, AsyncEngine], case: str
) -> None:
    statement, parameters = THROUGH_SQLALCHEMY[case]
    sqlalchemys, direct = engines
    expected = [await answer(sqlalchemys, statement, parameters, sqlalchemy_only=True) for _ in range(2)]
    with sent_by_sqlalchemy(direct) as sent:
        got = [await answer(direct, statement, parameters) for _ in range(2)]
    assert len(sent) == 2
    assert got == expected
    assert stored(direct) == stored(sqlalchemys)


async def test_update_returning_over_many_sets_of_parameters_is_refused_as_sqlalchemy_refuses_it(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    statement = update(ITEMS).where(ITEMS.c.code == bindparam("item")).values(note="n").returning(ITEMS.c.code)
    many = [{"item": "S1"}, {"item": "S2"}]
    sqlalchemys, direct = engines
    refusals = []
    for engine, sqlalchemy_only in ((sqlalchemys, True), (direct, False)):
        for _ in range(2):  # the second run is the one that would go straight to SQLite
            with pytest.raises(StatementError, match="does not support UPDATE") as refused:
                await answer(engine, statement, many, sqlalchemy_only=sqlalchemy_only)
            refusals.append((type(refused.value), str(refused.value)))
    assert len(set(refusals)) == 1, refusals
    assert stored(direct) == stored(sqlalchemys)


SECOND_ITEM = insert(ITEMS)


async def test_a_statement_the_database_refuses_raises_sqlalchemys_error_and_writes_nothing(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _, direct = engines
    await answer(direct, SECOND_ITEM, item("D1"))
    before = stored(direct)

    async def mark_and_the_item_again() -> None:
        async with writing(direct) as connection:
            await connection.execute(insert(MARKS), {"item_code": "D1", "kind": "in the same transaction"})
            await connection.execute(SECOND_ITEM, item("D1"))

    with sent_by_sqlalchemy(direct) as sent, pytest.raises(IntegrityError, match="UNIQUE constraint failed"):
        await mark_and_the_item_again()
    assert len(sent) == 1  # the mark, seen once; the item ran directly
    assert stored(direct) == before
    await answer(direct, SECOND_ITEM, item("D2"))  # the next transaction writes
    async with reading(direct) as connection:
        assert await connection.scalar(select(func.count()).where(ITEMS.c.code == "D2")) == 1


async def test_a_value_its_type_refuses_raises_the_statement_error_sqlalchemy_raises(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    sqlalchemys, direct = engines
    naive = item("E1", at=datetime(2026, 12, 6, 12, 0))
    for engine, sqlalchemy_only in ((sqlalchemys, True), (direct, False)):
        await answer(engine, SECOND_ITEM, item("E0"), sqlalchemy_only=sqlalchemy_only)
        with pytest.raises(StatementError, match="naive datetime"):
            await answer(engine, SECOND_ITEM, naive, sqlalchemy_only=sqlalchemy_only)
    assert stored(direct) == stored(sqlalchemys)


async def test_a_statement_sqlalchemy_runs_joins_the_transaction_and_ends_with_it(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _, direct = engines

    async def both_then_fail() -> None:
        async with writing(direct) as connection:
            await connection.execute(text("INSERT INTO marks (item_code, kind) VALUES ('S3', 'text')"))
            await connection.execute(SECOND_ITEM, item("F1"))
            raise LookupError("the work failed")

    await answer(direct, SECOND_ITEM, item("F0"))
    before = stored(direct)
    with pytest.raises(LookupError):
        await both_then_fail()
    assert stored(direct) == before  # both rolled back
    async with writing(direct) as connection:
        kept = connection
        await connection.execute(text("INSERT INTO marks (item_code, kind) VALUES ('S3', 'text')"))
        await connection.execute(SECOND_ITEM, item("F1"))
    async with writing(direct) as connection:
        assert connection is kept  # SQLAlchemy's record of the transaction ended with it: the connection serves on
    async with reading(direct) as connection:
        assert await connection.scalar(select(func.count()).where(MARKS.c.kind == "text")) == 1
        assert await connection.scalar(select(func.count()).where(ITEMS.c.code == "F1")) == 1


async def test_a_savepoint_rolled_back_keeps_what_its_transaction_wrote_before_it(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _, direct = engines
    await answer(direct, SECOND_ITEM, item("G0"))

    async def g2_and_g1_again(connection: AsyncConnection) -> None:
        async with connection.begin_nested():
            await connection.execute(SECOND_ITEM, item("G2"))
            await connection.execute(SECOND_ITEM, item("G1"))

    async with writing(direct) as connection:
        await connection.execute(SECOND_ITEM, item("G1"))
        with pytest.raises(IntegrityError):
            await g2_and_g1_again(connection)
        await connection.execute(SECOND_ITEM, item("G3"))
    async with reading(direct) as connection:
        codes = await connection.scalars(select(ITEMS.c.code).where(ITEMS.c.code.like("G%")).order_by(ITEMS.c.code))
        assert list(codes) == ["G0", "G1", "G3"]


async def test_a_statement_built_for_one_call_is_let_go_once_later_ones_have_taken_its_place(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement run twice gets a plan, which holds it; only the last `PLANNED_STATEMENTS` are held."""
    monkeypatch.setattr(sqlite_direct, "PLANNED_STATEMENTS", 10)
    _, direct = engines

    def built_for_one_call() -> Any:
        return select(ITEMS.c.code).where(ITEMS.c.code == bindparam("code"))

    async def run_twice(connection: AsyncConnection, statement: Any) -> None:
        for code in ("S1", "S2"):
            assert await connection.scalar(statement, {"code": code}) == code

    first = built_for_one_call()
    first_gone = weakref.ref(first)
    async with writing(direct) as connection:
        await connection.execution_options(compiled_cache=None)  # SQLAlchemy's own cache would hold it too
        with sent_by_sqlalchemy(direct) as sent:
            await run_twice(connection, first)
        assert len(sent) == 1  # the second run was direct: it has a plan
        del first
        gc.collect()
        assert first_gone() is not None
        for _ in range(10):
            await run_twice(connection, built_for_one_call())
    gc.collect()
    assert first_gone() is None
