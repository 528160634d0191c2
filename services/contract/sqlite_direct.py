"""SQLite's transactions, and the statements the code runs again and again, run on the driver's own connection,
without SQLAlchemy's execution around them.

SQLAlchemy spends some 75 µs executing a statement SQLite itself runs in a few (keying it for its cache, building
an execution context, wrapping the cursor, making the result), and some 40 µs beginning and ending a transaction
(its own bookkeeping, each step through a greenlet). The kept connections' transactions (`database.writing` and
`reading`) are begun and ended on SQLite's connection itself. A statement object run a second time in one (a
statement the code builds once: a module's constant, or what a cached builder returns) is compiled by SQLAlchemy
itself, once for each set of parameter names; each execution then only converts the parameters with the column
types' own bind processors, runs the SQL, and makes the rows with the types' result processors into SQLAlchemy's own
`Row` and `Result`. So the SQL, the conversions and the rows are SQLAlchemy's; only the machinery around them is
skipped.

Two things SQLAlchemy finishes at each execution are run directly too, as SQLite can take them whole: a list of
values for `IN` (an expanding parameter, which SQLAlchemy writes out as one placeholder a value) is bound as one
JSON array and read back by `json_each`, so the SQL stays the same for any length; and an INSERT RETURNING over many
sets of parameters (SQLAlchemy's "insertmanyvalues") inserts up to ROWS_A_STATEMENT rows a statement, as SQLAlchemy
does, in statements of as many rows as a power of two (so that SQLite prepares a few statements, not one a count):
its rows come in no particular order, as SQLAlchemy's, or in the order of the sets, one statement a set, when asked
for (`sort_by_parameter_order`). A consumer's batch and the relay's marks run several such statements a
transaction.

A statement built anew for each call, and any statement this cannot run as SQLAlchemy would (Python-side column
defaults, a list of tuples or of other values than text and integers for `IN`, execution options), goes through
SQLAlchemy as always, on the same connection and in the same transaction: SQLAlchemy then joins the transaction,
and ends it.
"""

import sqlite3
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Delete, Insert, Select, Update
from sqlalchemy.engine import Dialect, Result
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter

from services.contract import sqlite_inline

Processor = Callable[[Any], Any]
_RUNNABLE = (Select, Insert, Update, Delete)


class DirectResult(IteratorResult[Any]):
    """The rows a statement run directly returned, as SQLAlchemy's `Result`, and the rows it changed."""

    def __init__(
        self, metadata: SimpleResultMetaData, rows: list[tuple[Any, ...]], *, rowcount: int, returns_rows: bool
    ) -> None:
        super().__init__(metadata, iter(rows))
        self.rowcount = rowcount
        self.returns_rows = returns_rows


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to run one statement with one set of parameter names: its SQL, and the conversions on either side."""

    compiled: SQLCompiler
    sql: str
    """The compiled SQL, each list for `IN` read from one JSON array (`json_each`)."""
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    """The positional parameters' values, in order, from the values by name."""
    given: bool
    """Every positional parameter is one of the values given, by its own name: SQLAlchemy's `construct_params`,
    which adds the values bound into the statement itself, has nothing to add."""
    binds: tuple[tuple[int, Processor], ...]
    """The position and the type's bind processor of each positional parameter that has one, a list's for each of
    its values: a list for `IN` is then bound as a JSON array."""
    returns_rows: bool
    results: tuple[tuple[int, Processor], ...]
    """The position and the type's result processor of each returned column that has one."""
    metadata: SimpleResultMetaData
    listed: tuple[int, ...]
    """The positions of the lists for `IN`."""
    values: str | None = None
    """An INSERT RETURNING over many sets that may take many rows a statement: its VALUES, for one row."""
    _sql_for_rows: dict[int, str] = field(default_factory=dict)

    def run(self, raw: sqlite3.Connection, parameters: list[dict[str, Any]]) -> Result[Any] | None:
        """The statement's result; None, having run nothing, when a list for `IN` holds a value its JSON would not
        give back exactly (SQLAlchemy runs the statement then)."""
        sql = self.sql
        try:
            try:
                positional = [self._positional(one) for one in parameters or [{}]]
            except _NotExact:
                return None
            if len(positional) > 1 and self.returns_rows:  # RETURNING: SQLite's executemany returns no rows
                fetched, rowcount = [], 0
                for chunk in self._chunks(positional):
                    cursor = raw.execute(self._sql_for(len(chunk)), [value for values in chunk for value in values])
                    fetched += cursor.fetchall()
                    rowcount += cursor.rowcount
            elif len(positional) > 1:
                cursor = raw.executemany(sql, positional)
                fetched, rowcount = [], cursor.rowcount
            else:
                cursor = raw.execute(sql, positional[0])
                fetched = cursor.fetchall() if self.returns_rows else []
                rowcount = cursor.rowcount
        except Exception as exc:
            # SQLAlchemy's error for it, as its own execution raises: a DBAPIError for the database's, a
            # StatementError for one in the parameters (a bind processor's)
            raise DBAPIError.instance(sql, parameters, exc, sqlite3.Error, ismulti=len(parameters) > 1) from exc
        rows = [tuple(_converted(row, self.results)) for row in fetched] if self.results else fetched
        return DirectResult(self.metadata, rows, rowcount=rowcount, returns_rows=self.returns_rows)

    def _chunks(self, positional: list[Sequence[Any]]) -> Iterable[list[Sequence[Any]]]:
        """The sets of parameters in runs of ROWS_A_STATEMENT, then of the powers of two that make up the rest; one
        set a run without `values`."""
        if self.values is None:
            yield from ([values] for values in positional)
            return
        start = 0
        while start < len(positional):
            size = min(ROWS_A_STATEMENT, 1 << ((len(positional) - start).bit_length() - 1))
            yield positional[start : start + size]
            start += size

    def _sql_for(self, rows: int) -> str:
        """The SQL inserting `rows` rows in one statement."""
        if rows == 1 or self.values is None:
            return self.sql
        if rows not in self._sql_for_rows:
            self._sql_for_rows[rows] = self.sql.replace(self.values, ", ".join([self.values] * rows), 1)
        return self._sql_for_rows[rows]

    def _positional(self, parameters: dict[str, Any]) -> Sequence[Any]:
        values = self.take(parameters if self.given else self.compiled.construct_params(parameters, escape_names=False))
        if not self.binds and not self.listed:
            return values
        converted = list(values)
        for position, convert in self.binds:
            value = converted[position]
            converted[position] = [convert(each) for each in value] if position in self.listed else convert(value)
        for position in self.listed:
            converted[position] = _json_list(converted[position])
        return converted


class _NotExact(Exception):
    """A list for `IN` that one JSON array would not carry exactly."""


_EXACT_JSON = orjson.OPT_STRICT_INTEGER | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json_list(values: Iterable[Any]) -> str:
    """A list for `IN` as the JSON array `json_each` reads back value for value. Not for integers past 53 bits (SQLite
    reads those past 63 as reals), nor for text with a NUL character (`json_each` ends the text there), nor for
    values JSON has no exact form for: raises _NotExact for those."""
    try:
        text = orjson.dumps(list(values), option=_EXACT_JSON)
    except orjson.JSONEncodeError as exc:
        raise _NotExact from exc
    if b"\\u0000" in text:
        raise _NotExact
    return text.decode()


def _converted(values: Sequence[Any], conversions: tuple[tuple[int, Processor], ...]) -> list[Any]:
    """`values` with each conversion applied at its position."""
    converted = list(values)
    for position, convert in conversions:
        converted[position] = convert(converted[position])
    return converted


def _taker(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A function of the values by name giving those of `names`, in order, as a tuple (as itemgetter does for two
    names or more)."""
    if len(names) > 1:
        return itemgetter(*names)
    if names:
        (name,) = names
        return lambda values: (values[name],)
    return lambda _values: ()


ROWS_A_STATEMENT = 64
"""Most rows an INSERT RETURNING over many sets inserts a statement: inserting them one a statement cost some 7 µs a
row more, 64 in one statement saves nearly all of it, and keeps the parameters far below SQLite's limit."""

PLANNED_STATEMENTS = 1_000
"""Statements a dialect keeps plans for, the ones run last: the code's own built-once statements are some hundreds,
and a statement built for one call but run twice in it must not be kept alive for ever by its plan."""

_PlanKey = tuple[frozenset[str], bool]


class _Planner:
    """The plans for one dialect's statements: none for a statement seen once; then one for each set of parameter
    names it is run with, or None where it must go through SQLAlchemy."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._seen_once: weakref.WeakSet[Any] = weakref.WeakSet()
        self._plans: OrderedDict[int, tuple[Any, dict[_PlanKey, _Plan | None]]] = OrderedDict()
        """By the statement's id: the statement itself (held, so the id stays its own) and its plans."""

    def plan(self, statement: Any, parameters: Sequence[dict[str, Any]]) -> _Plan | None:
        if not isinstance(statement, _RUNNABLE):
            return None
        held = self._plans.get(id(statement))
        if held is None:
            if statement not in self._seen_once:  # most statements built for one call are never seen again
                self._seen_once.add(statement)
                return None
            self._seen_once.discard(statement)
            held = self._plans[id(statement)] = (statement, {})
            if len(self._plans) > PLANNED_STATEMENTS:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(id(statement))
        plans = held[1]
        key = (frozenset(parameters[0]) if parameters else frozenset(), len(parameters) > 1)
        if key not in plans:
            plans[key] = self._compiled(statement, *key)
        return plans[key]

    def _compiled(self, statement: Any, names: frozenset[str], many: bool) -> _Plan | None:
        dialect = self._dialect
        if statement.get_execution_options():
            return None
        compiled = statement.compile(dialect=dialect, column_keys=sorted(names), for_executemany=many)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            return None
        if compiled.literal_execute_params or compiled.schema_translate_map or compiled.escaped_bind_names:
            return None  # the SQL is finished at each execution
        if not all(_listable(bind) for bind in compiled.post_compile_params):
            return None  # a list SQLAlchemy writes out, one placeholder a value, at each execution
        if compiled.insert_prefetch or compiled.update_prefetch:
            return None  # Python-side column defaults, computed at each execution
        if compiled.implicit_returning:
            return None  # RETURNING that SQLAlchemy adds for itself, and keeps from the result
        columns = compiled._result_columns  # what SQLAlchemy's own results are made from: keys, objects and types
        if columns and not compiled._ordered_columns:
            return None  # rows SQLAlchemy matches to the columns by name, not by position
        if columns and many and not isinstance(statement, Insert):
            return None  # SQLAlchemy refuses UPDATE or DELETE ... RETURNING over many sets of parameters
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        positional = compiled.positiontup
        given = all(
            name in names and by_name[name].key == name and by_name[name].callable is None for name in positional
        )
        listed = {compiled.bind_names[bind] for bind in compiled.post_compile_params}
        sql = compiled.string
        for name in listed:
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", "SELECT value FROM json_each(?)")
        binds = _present(by_name[name].type.dialect_impl(dialect).bind_processor(dialect) for name in positional)
        results = _present(entry.type.dialect_impl(dialect).result_processor(dialect, None) for entry in columns)
        metadata = SimpleResultMetaData([entry.keyname for entry in columns], [entry.objects for entry in columns])
        at = tuple(position for position, name in enumerate(positional) if name in listed)
        values = _many_values(compiled, sql) if many and columns and not at else None
        return _Plan(compiled, sql, _taker(positional), given, binds, bool(columns), results, metadata, at, values)


def _many_values(compiled: SQLCompiler, sql: str) -> str | None:
    """The VALUES of one row of an INSERT RETURNING over many sets that may insert many rows a statement: one that
    SQLAlchemy would so insert, in no particular order, its VALUES written once in the SQL. None for the others."""
    many = compiled._insertmanyvalues
    if many is None or many.sort_by_parameter_order or many.is_default_expr or many.num_sentinel_columns:
        return None
    values = f"({many.single_values_expr})"
    fits = len(compiled.positiontup or ()) * ROWS_A_STATEMENT <= 999  # any SQLite takes 999 parameters a statement
    return values if sql.count(values) == 1 and fits else None


def _listable(bind: BindParameter[Any]) -> bool:
    """A list for `IN` that can be bound as one JSON array: of text or integers (SQLite compares the values
    `json_each` reads back as it would the same values bound one by one; `_json_list` says which lists of them)."""
    if not bind.expanding or bind.literal_execute:
        return False
    try:
        return bind.type.python_type in (str, int)
    except NotImplementedError:  # a type that does not say
        return False


def _present(processors: Iterable[Processor | None]) -> tuple[tuple[int, Processor], ...]:
    """The processors there are (a type that needs no conversion has none), with their positions."""
    return tuple((position, convert) for position, convert in enumerate(processors) if convert is not None)


_planners: weakref.WeakKeyDictionary[Dialect, _Planner] = weakref.WeakKeyDictionary()


class DirectConnection(AsyncConnection):
    """SQLAlchemy's async connection to SQLite, with transactions begun and ended on the driver's connection itself,
    and the statements it can run directly so run (see the module). A statement SQLAlchemy runs in such a transaction
    joins it: SQLAlchemy then keeps its own record of the transaction, and ends it."""

    transactions_begun = 0
    """How many transactions `begin_on_driver` has begun on this connection: with it, the number says which one is
    open."""
    _driver: sqlite3.Connection | None = None

    def driver(self) -> sqlite3.Connection:
        """The sqlite3 connection under SQLAlchemy's and aiosqlite's (looked up once: four attribute lookups through
        SQLAlchemy's properties cost a microsecond or two, and each statement asks)."""
        if self._driver is None:
            self._driver = self.sync_connection.connection.driver_connection._conn  # type: ignore[union-attr]
        return self._driver

    async def invalidate(self, exception: BaseException | None = None) -> None:
        self._driver = None  # SQLAlchemy would take another connection from the pool for the next statement
        await super().invalidate(exception)

    async def begin_on_driver(self, *, write: bool) -> None:
        """Begin a transaction, to be ended by `end_on_driver`. A writer's takes SQLite's write lock up front,
        waiting for it on the loop (`sqlite_inline.begin_on_loop`); a reader's takes none."""
        await sqlite_inline.begin_on_loop(self.driver(), write=write)
        self.transactions_begun += 1

    def idle(self) -> bool:
        """Neither SQLAlchemy nor SQLite holds a transaction open on this connection."""
        return not self.in_transaction() and not self.driver().in_transaction

    async def end_on_driver(self, *, commit: bool) -> None:
        """Commit or roll back the transaction `begin_on_driver` began, or SQLAlchemy's that joined it."""
        if self.in_transaction():  # SQLAlchemy ran a statement in it, and ends the transaction it joined
            await (self.commit() if commit else self.rollback())
            return
        raw = self.driver()
        if not raw.in_transaction:
            return
        try:
            raw.commit() if commit else raw.rollback()
        except sqlite3.Error as exc:
            raise DBAPIError.instance("COMMIT" if commit else "ROLLBACK", None, exc, sqlite3.Error) from exc

    async def execute(
        self,
        statement: Any,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> Any:
        raw = self.driver()
        if execution_options or not raw.in_transaction:  # outside a transaction SQLAlchemy begins one
            return await super().execute(statement, parameters, execution_options=execution_options)
        many = list(parameters) if isinstance(parameters, list | tuple) else [] if parameters is None else [parameters]
        dialect = self.dialect
        planner = _planners.get(dialect) or _planners.setdefault(dialect, _Planner(dialect))
        plan = planner.plan(statement, many)
        result = plan.run(raw, many) if plan is not None else None
        if result is None:
            return await super().execute(statement, parameters, execution_options=execution_options)
        return result


async def connect(engine: AsyncEngine) -> DirectConnection:
    """A new connection of `engine`'s (a SQLite one)."""
    connection = DirectConnection(engine)
    await connection.start()
    return connection
