"""Database plumbing every service shares: engines, migrations, and the outbox and inbox tables."""

import asyncio
import functools
import logging
import sqlite3
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

import orjson
from alembic import command, context
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, Engine, Row, make_url
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

from services.contract import sqlite_direct, sqlite_inline, sqlite_turns
from services.contract.dumped import JsonText

log = logging.getLogger(__name__)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no zone, so it is restored on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the project stores aware UTC times only")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text SQLAlchemy's processors write ("2026-12-07 07:30:42.123456", the UTC time) in under a
        third of their time (1.1 against 3.7 µs: they build a dict to format for every value, and convert a UTC time
        to UTC); theirs where that text would differ (another storage format) and on other databases."""
        given = super().bind_processor(dialect)
        if dialect.name != "sqlite" or given is None or given(_PROBE) != _sqlite_text(_PROBE):
            return given
        last: list[tuple[datetime | None, str | None]] = [(None, None)]  # a batch's rows share their times

        def process(value: datetime | None) -> str | None:
            known, text = last[0]
            if value is known:
                return text
            utc = value if value is None or value.tzinfo is UTC else self.process_bind_param(value, dialect)
            text = None if utc is None else _sqlite_text(utc)
            last[0] = (value, text)
            return text

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """On SQLite, the stored text read by `fromisoformat` as a UTC time, in a quarter of the time SQLAlchemy's
        processors take to match a pattern, build the datetime from its groups, then give it its zone; theirs for a
        text it does not take."""
        given = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or given is None:
            return given

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                read = datetime.fromisoformat(value + "+00:00")  # the stored time is UTC's
            except (TypeError, ValueError):
                return given(value)
            return read if read.tzinfo is not None else given(value)  # a date alone takes no zone

        return process


_PROBE = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def _sqlite_text(utc: datetime) -> str:
    """A UTC time as SQLAlchemy stores it on SQLite: to the microsecond, with no zone (its storage format, with a
    tuple for the dict it builds)."""
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - the fastest of the ways measured
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
    )


def _json_text(value: Any) -> str:
    """JSON columns' text, several times faster than the standard library (non-string keys become strings, as
    there; compact, without its spaces). A model's JSON made already (`JsonText`, `Dumped`) is stored as it is."""
    if isinstance(value, JsonText):
        return value.text.decode()
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(url: str) -> AsyncEngine:
    """An async engine. SQLite runs on the event loop's thread (`sqlite_inline`), with WAL and write transactions
    that lock up front."""
    parsed = make_url(url)
    json_codec: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if not parsed.drivername.startswith("sqlite"):
        # Fail fast when the server is down (the API answers 503), instead of waiting a minute per request.
        return create_async_engine(url, pool_pre_ping=True, pool_timeout=5, connect_args={"timeout": 5}, **json_codec)
    file = _sqlite_file(parsed)
    if file is not None:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
    pragmas = (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"wal_autocheckpoint={sqlite_inline.WAL_BACKSTOP_PAGES}",
    )
    engine = create_async_engine(url, async_creator=sqlite_inline.connector(file or ":memory:", pragmas), **json_codec)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Transactions are begun by us, not by the driver (its isolation_level is None), taking the write lock when
        # the transaction starts: a read-then-write cannot race another writer. A reader's transaction (see
        # `reading`) takes no lock: it reads a snapshot beside the writer. The kept connections begin theirs on the
        # driver's connection itself (`sqlite_direct`); this begins those SQLAlchemy begins (`engine.begin()`).
        sqlite_inline.begin(connection, write=not connection.get_execution_options().get(_READS_ONLY))

    event.listen(engine.sync_engine, "engine_disposed", _forget_kept)
    return engine


def checkpointer(engine: AsyncEngine, **options: Any) -> sqlite_inline.Checkpointer | None:
    """What checkpoints a SQLite file's log off the event loop (a service runs it beside its work), in turns of the
    engine's writers when it starts the log over; `options` go to `sqlite_inline.Checkpointer`. None for PostgreSQL
    and in-memory SQLite."""
    file = sqlite_file(engine)
    if file is None:
        return None
    return sqlite_inline.Checkpointer(
        file, turn=functools.partial(_kept_for(engine).writers.turn, ahead=True), **options
    )


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The SQLite file the engine writes; None for PostgreSQL and a SQLite database in memory."""
    return _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None


def _sqlite_file(url: URL) -> str | None:
    """The file a SQLite URL names; None for a database in memory."""
    return None if url.database in (None, "", ":memory:") else url.database


@functools.cache
def insert_unless_present(dialect: str, table: Table, *, returning_all_but: frozenset[str] | None = None) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING into `table`, in the words of `dialect` (sqlite or postgresql), built once
    (the values come with each execution): a duplicate key writes nothing and raises nothing, so the transaction
    goes on (PostgreSQL aborts it after an error). With `returning_all_but`, RETURNING the row but those columns
    (ones the caller holds already, which would only be decoded again); without, the rowcount says 0 or 1."""
    language = postgresql if dialect == "postgresql" else sqlite
    statement = language.insert(table).on_conflict_do_nothing()
    if returning_all_but is None:
        return statement
    return statement.returning(*(column for column in table.c if column.name not in returning_all_but))


def stored_row(table: Table, values: Mapping[str, Any], *, without: frozenset[str] = frozenset()) -> Row[Any]:
    """The row of `table` that `values` were just written as, its columns but `without`, made without reading it
    back: on SQLite, RETURNING a declaration's 14 columns cost more than the INSERT itself. Every column must be
    in `values`: one the database fills in (an autoincremented id) is not known here, and goes in `without`."""
    keys, times, metadata = _row_shape(table, without)
    data = [values[key] for key in keys]
    for position in times:  # read back in UTC, whatever offset they were written with
        data[position] = None if data[position] is None else data[position].astimezone(UTC)
    return Row(metadata, None, metadata._key_to_index, tuple(data))


@functools.cache
def _row_shape(table: Table, without: frozenset[str]) -> tuple[tuple[str, ...], tuple[int, ...], SimpleResultMetaData]:
    """The columns of a stored row, the positions of its times (`UtcDateTime`), and its metadata."""
    columns = [column for column in table.c if column.name not in without]
    times = tuple(position for position, column in enumerate(columns) if isinstance(column.type, UtcDateTime))
    keys = tuple(column.name for column in columns)
    return keys, times, SimpleResultMetaData(keys)


class WriterQueue:
    """The turns of a process's writers at its one SQLite write connection: first come first served, except that
    a writer `ahead` goes before every other kind of writer waiting.

    Under load the requests that lodge submissions queue here by the hundred, and a consumer's batches or the
    relay's marks waited behind all of them each time: decisions and events then fell behind the submissions
    however fast each batch ran, until the submissions stopped. The writers ahead are few (one at a time from each
    consumer and from the relay) and each does the work of many; the others take the turns in between, while those
    fetch and send. As with asyncio's Lock, a writer leaving hands its turn to the next one waiting: none comes in
    between.

    With `between` (a file's `sqlite_turns.ProcessTurns`) the process's writers also take turns with other
    processes': the first writer takes the process's turn, or waits for it (and those coming after wait behind);
    a writer leaving gives it up, once the process has had it `TURN_SECONDS`, if another process wants it, and
    the writers still waiting wait for it again. One that waits `WRITE_LOCK_WAIT` for another process fails, as it
    would waiting for SQLite's lock."""

    def __init__(self, between: sqlite_turns.ProcessTurns | None = None) -> None:
        self._held = False
        self._ahead: deque[asyncio.Future[None]] = deque()
        self._behind: deque[asyncio.Future[None]] = deque()
        self._between = between
        self._turn_began = 0.0
        self._fetching = False
        """The process waits for its turn (the turn is held for the writers waiting, none of them has it yet)."""
        self._overdue: asyncio.TimerHandle | None = None
        """While the process waits for its turn: when the writers that have waited longest fail."""
        self._queued_at: dict[asyncio.Future[None], float] = {}
        self._closing = False

    def locked(self) -> bool:
        """Whether a writer has the turn (not merely the process waiting for it)."""
        return self._held and not self._fetching

    @property
    def between(self) -> sqlite_turns.ProcessTurns | None:
        """The turns this process's writers take with other processes', if any."""
        return self._between

    @asynccontextmanager
    async def turn(self, *, ahead: bool = False) -> AsyncIterator[None]:
        await self.take(ahead=ahead)
        try:
            yield
        finally:
            self.pass_on()

    async def take(self, *, ahead: bool = False) -> None:
        """Wait for the turn, and hold it until `pass_on`."""
        if self._held or self._ahead or self._behind:
            await self._wait(self._ahead if ahead else self._behind)
            return
        self._held = True
        if self._between is None or self._between.try_take():
            self._turn_began = time.monotonic()
            return
        self._fetch()  # held by the fetch until the process's turn comes, then handed on
        await self._wait(self._ahead if ahead else self._behind)

    async def _wait(self, queue: "deque[asyncio.Future[None]]") -> None:
        loop = asyncio.get_running_loop()
        waiting = loop.create_future()
        queue.append(waiting)
        if self._fetching:
            self._queued_at[waiting] = loop.time()
        try:
            await waiting
        except asyncio.CancelledError:
            if waiting.done() and not waiting.cancelled() and waiting.exception() is None:
                self.pass_on()  # the turn came with the cancellation: the next writer has it
            elif not waiting.done():
                with suppress(ValueError):
                    queue.remove(waiting)
            raise
        finally:
            self._queued_at.pop(waiting, None)

    def pass_on(self) -> None:
        """Give the turn to the next writer waiting, if any (in this process's turn, or once it comes again)."""
        between = self._between
        if (
            between is not None
            and time.monotonic() - self._turn_began >= sqlite_turns.TURN_SECONDS
            and self._someone_waits()
            and between.wanted()
        ):
            between.give()
            self._fetch()
            return
        self._hand_on()

    def _hand_on(self) -> None:
        for queue in (self._ahead, self._behind):
            while queue:
                waiting = queue.popleft()
                if not waiting.done():
                    waiting.set_result(None)  # still held: the turn is the waiter's now
                    return
        self._held = False
        if self._between is not None:
            self._between.give()
            if self._closing:
                self._between.close()
                self._between = None

    def close(self) -> None:
        """Close the lock files of the process's turns, now or once the writers that hold the turn are done."""
        self._closing = True
        if not self._held:
            self._hand_on()

    def _someone_waits(self) -> bool:
        return any(not waiting.done() for queue in (self._ahead, self._behind) for waiting in queue)

    def _fetch(self) -> None:
        """Wait for the process's turn, then hand it on; a writer waiting `WRITE_LOCK_WAIT` for it fails."""
        assert self._between is not None
        assert not self._fetching, "one wait for the process's turn at a time"
        loop = asyncio.get_running_loop()
        self._fetching = True
        now = loop.time()
        for queue in (self._ahead, self._behind):
            for waiting in queue:
                self._queued_at.setdefault(waiting, now)
        self._overdue = loop.call_later(sqlite_inline.WRITE_LOCK_WAIT, self._fail_overdue)
        self._between.fetch(self._came)

    def _came(self) -> None:
        self._fetching = False
        if self._overdue is not None:
            self._overdue.cancel()
            self._overdue = None
        self._turn_began = time.monotonic()
        self._hand_on()

    def _fail_overdue(self) -> None:
        """The writers that have waited `WRITE_LOCK_WAIT` for the process's turn fail, as they would waiting for
        SQLite's lock; the others wait on, until theirs has passed."""
        loop = asyncio.get_running_loop()
        wait = sqlite_inline.WRITE_LOCK_WAIT
        oldest = None
        for queue in (self._ahead, self._behind):
            for waiting in list(queue):
                since = self._queued_at.get(waiting, loop.time())
                if waiting.done():
                    continue
                if loop.time() - since >= wait:
                    queue.remove(waiting)
                    locked = sqlite3.OperationalError("database is locked (another process kept its turn)")
                    waiting.set_exception(OperationalError("BEGIN IMMEDIATE", None, locked))
                elif oldest is None or since < oldest:
                    oldest = since
        delay = wait if oldest is None else max(0.0, oldest + wait - loop.time())
        self._overdue = loop.call_later(delay, self._fail_overdue)


class _Kept:
    """A SQLite engine's connections kept open from one transaction to the next (taking a connection from the pool
    and giving it back cost more than a short transaction's statements): the write connection with the queue its
    writers take turns in (`WriterQueue`), and the idle read connections. `engine.dispose()` forgets them
    (`_forget_kept`): the next transactions open others."""

    def __init__(self, file: str | None = None) -> None:
        self.writers = WriterQueue(sqlite_turns.turns_for(file))
        self.writer: sqlite_direct.DirectConnection | None = None
        self.readers: list[sqlite_direct.DirectConnection] = []
        self.retired = False
        """The engine was disposed of: connections still in a transaction are closed when it ends."""


_kept: "weakref.WeakKeyDictionary[Engine, _Kept]" = weakref.WeakKeyDictionary()

IDLE_READERS = 4
"""Read connections a SQLite engine keeps open while no reader uses them; more readers at once take more from the
pool, and give them back."""


def _kept_for(engine: AsyncEngine) -> _Kept:
    return _kept.get(engine.sync_engine) or _kept.setdefault(engine.sync_engine, _Kept(_sqlite_file(engine.url)))


def writing(engine: AsyncEngine, *, ahead: bool = False) -> AbstractAsyncContextManager[AsyncConnection]:
    """A write transaction. On SQLite the process's writers queue for it, first come first served: SQLite's own
    wait for its lock polls, so a writer could starve while others take turns (the outbox relay marking what it
    sent while a consumer commits batch after batch, until the relay's lease ran out and another instance sent the
    same events again). Writers `ahead` (the work that carries what was accepted on: a consumer's transactions,
    the relay's marks) go before the others waiting, in their own order (`WriterQueue`). They share one connection,
    kept open between them; one that failed in the database, or was left inside a transaction, is closed, and the
    next writer opens another. Writers in other processes still poll: several instances want PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return engine.begin()
    return _KeptTransaction(engine, write=True, ahead=ahead)


def reading(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """A transaction that only reads, of one snapshot: a view read in several statements is of one moment (a
    declaration's state and its agencies' standings agree). On SQLite WAL gives it, and a reader takes no lock up
    front as a writer does, so it never waits for writers; up to `IDLE_READERS` connections are kept open between
    readers, as the writers' one is. On PostgreSQL the transaction is REPEATABLE READ (READ COMMITTED, the default,
    takes a new snapshot at each statement)."""
    if engine.dialect.name != "sqlite":
        return _for_reading(engine).connect()
    return _KeptTransaction(engine, write=False)


_reading_engines: "weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine]" = weakref.WeakKeyDictionary()


def _for_reading(engine: AsyncEngine) -> AsyncEngine:
    """`engine` with the options of a reading transaction, made once (making it costs some 50 µs, and every request
    a route answers reads its API key)."""
    found = _reading_engines.get(engine)
    if found is None:
        options = {_READS_ONLY: True} if engine.dialect.name == "sqlite" else {"isolation_level": "REPEATABLE READ"}
        found = _reading_engines[engine] = engine.execution_options(**options)
    return found


class _KeptTransaction:
    """A transaction of `writing` or `reading` on one of a SQLite engine's kept connections (`_Kept`), begun and
    ended on the driver's connection itself (`sqlite_direct`): committed when the block ends, rolled back when it
    raises. A writer holds its turn (`WriterQueue`) from before it begins until after it ends.

    Afterwards the connection is kept for the next transaction, or closed: when the transaction failed in the
    database (the connection may be unsound; any other failure was the work's, and its transaction rolled back), was
    left open, or the engine was disposed of meanwhile. A class, where generator-based context managers nested four
    deep cost some 20 µs more a transaction: every request has one or two."""

    __slots__ = ("_ahead", "_connection", "_engine", "_kept", "_write")

    def __init__(self, engine: AsyncEngine, *, write: bool, ahead: bool = False) -> None:
        self._engine = engine
        self._kept = _kept_for(engine)
        self._write = write
        self._ahead = ahead
        self._connection: sqlite_direct.DirectConnection | None = None

    async def __aenter__(self) -> sqlite_direct.DirectConnection:
        if self._write:
            await self._kept.writers.take(ahead=self._ahead)
        try:
            connection = self._connection = await self._connection_for(self._kept)
        except BaseException:
            self._leave()
            raise
        try:
            await connection.begin_on_driver(write=self._write)
        except BaseException as exc:
            await self._put_back(connection, sound=not isinstance(exc, SQLAlchemyError))
            raise
        return connection

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, _trace: Any) -> None:
        connection = self._connection
        assert connection is not None, "a transaction ends only after it began"
        sound = not isinstance(exc, SQLAlchemyError)
        try:
            await connection.end_on_driver(commit=exc is None)
        except BaseException as failure:
            sound = not isinstance(failure, SQLAlchemyError)
            raise
        finally:
            await self._put_back(connection, sound=sound)

    async def _connection_for(self, kept: "_Kept") -> sqlite_direct.DirectConnection:
        if self._write:
            kept.writer = kept.writer or await sqlite_direct.connect(self._engine)
            return kept.writer
        return kept.readers.pop() if kept.readers else await sqlite_direct.connect(_for_reading(self._engine))

    async def _put_back(self, connection: sqlite_direct.DirectConnection, *, sound: bool) -> None:
        """Keep the connection for the next transaction, or close it; then a writer passes its turn on."""
        kept = self._kept
        try:
            reusable = sound and not kept.retired and not connection.invalidated and connection.idle()
            if not reusable:
                if self._write:
                    kept.writer = None
                await _close_for_good(connection)
            elif not self._write and len(kept.readers) < IDLE_READERS:
                kept.readers.append(connection)
            elif not self._write:
                await connection.close()
        finally:
            self._leave()

    def _leave(self) -> None:
        if self._write:
            self._kept.writers.pass_on()


async def _close_for_good(connection: AsyncConnection) -> None:
    """Close the driver's connection itself (it is not given back to the pool, which may be disposed of)."""
    if not connection.closed:
        await connection.invalidate()
        await connection.close()


def _forget_kept(engine: Engine) -> None:
    """On `engine.dispose()`: close its kept connections, leaving one in a transaction to close when that ends."""
    kept = _kept.pop(engine, None)
    if kept is None:
        return
    kept.retired = True
    kept.writers.close()
    idle = list(kept.readers)
    if kept.writer is not None and not kept.writers.locked():
        idle.append(kept.writer)
    kept.readers, kept.writer = [], None
    for connection in (kept_connection.sync_connection for kept_connection in idle):
        if connection is not None and not connection.closed:
            connection.invalidate()  # dispose runs in SQLAlchemy's greenlet: the driver may be awaited here
            connection.close()


_READS_ONLY = "sw_reads_only"


# SQLSTATE classes of an unreachable server: 08 connection exception; 57P01-57P03 the server is shutting
# down, crashed or starting (PostgreSQL reports these at connect time, SQLAlchemy wraps them as DBAPIError).
_UNAVAILABLE_SQLSTATES = ("08", "57P")


def is_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (as opposed to refusing a statement)."""
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    ):
        return True
    seen: BaseException | None = exc
    for _ in range(6):  # the error, the driver's error under it, and their causes
        if seen is None:
            return False
        if isinstance(seen, OSError):
            return True
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


async def ping(engine: AsyncEngine) -> bool:
    """True when the database answers a trivial query."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as not ready
        log.warning("database not reachable: %s", exc)
        return False
    return True


async def upgrade(engine: AsyncEngine, migrations: Path) -> None:
    """Apply the service's alembic migrations up to head."""

    def _upgrade(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(migrations))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """Autogenerated migrations spell UtcDateTime as the column type it is, so they import nothing of ours."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(metadata: MetaData) -> None:
    """The body of every service's alembic env.py: migrate on the connection `upgrade` hands over."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through services.contract.database.upgrade, which passes a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


class MessagingTables(NamedTuple):
    outbox: Table
    inbox: Table
    leases: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """The outbox (events waiting to be published), the inbox (event ids already processed), and the leases
    (which instance publishes the outbox)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(255), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("headers", Text, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("sent_at", UtcDateTime, nullable=True, index=True),
    )
    inbox = Table(
        "processed_events",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("topic", String(255), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", UtcDateTime, nullable=False),
    )
    leases = Table(
        "leases",
        metadata,
        Column("name", String(64), primary_key=True),
        Column("holder", String(255), nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
    )
    return MessagingTables(outbox, inbox, leases)
