"""SQLite on the event loop's own thread, for SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call on a worker thread and hands the result back through the loop: 0.1-0.4 ms of thread
round trip for a statement SQLite itself runs in a few microseconds, and while a writer holds SQLite's one write
lock, every statement of its transaction pays it. Here each call runs where it is made, so a transaction that
awaits no other I/O holds the lock only for the microseconds its statements take.

Nothing may block the loop in exchange. The one wait SQLite has is for its write lock, and its busy handler
would sleep in the calling thread; so connections have no busy handler, and a writer that finds the lock taken
(by another process, or by a transaction of this one that awaits other I/O) waits on the loop instead, retrying
with backoff until `WRITE_LOCK_WAIT` has passed. In WAL mode a reader never waits for the lock.
"""

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_

log = logging.getLogger(__name__)

WRITE_LOCK_WAIT = 30.0
"""Seconds a writer waits for SQLite's write lock before its transaction fails (then 'database is locked')."""

_FIRST_RETRY = 0.0005
_LONGEST_RETRY = 0.02
_CONNECT_BUSY_TIMEOUT = 30.0  # seconds, only while the connection's pragmas run (WAL may need the lock once)
WAL_BACKSTOP_PAGES = 10_000
"""The log's length (pages of 4 KiB) at which a commit checkpoints it itself: only where no `Checkpointer` runs."""
RESTART_WAIT = 0.1
"""Seconds a `Checkpointer` waits for the write lock, and for readers to leave the log, to start the log over."""


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its worker thread: runs each call as it is put, settling its future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller, as the worker thread does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection with no worker thread: each call runs on the caller's thread as it is awaited."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # the base class would start its thread here

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def connector(database: str, pragmas: tuple[str, ...]) -> Callable[[], InlineConnection]:
    """What SQLAlchemy's `async_creator` calls for a new connection to `database` (a path or ':memory:'): the
    pragmas run first, with SQLite's own busy wait, then the connection is left without one."""

    def connect() -> sqlite3.Connection:
        # check_same_thread off: the pool may close a connection from the thread that collects it.
        raw = sqlite3.connect(database, timeout=_CONNECT_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        for pragma in pragmas:
            raw.execute(f"PRAGMA {pragma}")
        raw.execute("PRAGMA busy_timeout=0")
        return raw

    return partial(InlineConnection, connect)


def _is_busy(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


def begin(connection: Connection, *, write: bool) -> None:
    """Start the transaction SQLAlchemy is beginning on `connection`: a write transaction takes the write lock up
    front (BEGIN IMMEDIATE), waiting for it on the event loop; a read-only one takes nothing (BEGIN). A failure is
    SQLAlchemy's error for it, as a statement's would be ('database is locked' once the wait has run out). In a
    transaction begun on the driver's connection itself (`sqlite_direct`), SQLAlchemy's joins that one."""
    raw: sqlite3.Connection = connection.connection.driver_connection._conn  # type: ignore[union-attr]
    if raw.in_transaction:
        return
    attempts = _Attempts(raw, write=write)
    while (delay := attempts.wait_after_one()) is not None:
        await_(asyncio.sleep(delay))


async def begin_on_loop(raw: sqlite3.Connection, *, write: bool) -> None:
    """`begin`, for a transaction begun on the driver's connection itself, from a coroutine."""
    attempts = _Attempts(raw, write=write)
    while (delay := attempts.wait_after_one()) is not None:  # noqa: ASYNC110 - the lock (another process's, perhaps) has no event to wait on
        await asyncio.sleep(delay)


class _Attempts:
    """Attempts to begin a transaction on `raw`, a writer's retried with backoff while another holds the lock."""

    def __init__(self, raw: sqlite3.Connection, *, write: bool) -> None:
        self._raw = raw
        self._write = write
        self._statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        self._delay = _FIRST_RETRY
        self._deadline = 0.0

    def wait_after_one(self) -> float | None:
        """Make one attempt: None once the transaction has begun, else the seconds to wait before the next."""
        try:
            self._raw.execute(self._statement)
            return None
        except sqlite3.Error as exc:
            now = time.monotonic()
            self._deadline = self._deadline or now + WRITE_LOCK_WAIT
            if not self._write or not _is_busy(exc) or now >= self._deadline:
                raise DBAPIError.instance(self._statement, None, exc, sqlite3.Error) from exc
        delay, self._delay = self._delay, min(self._delay * 2, _LONGEST_RETRY)
        return delay


class Checkpointer:
    """Copies the write-ahead log back into the database file every `interval` seconds, on a worker thread, and
    has the log started over once it is `restart_pages` long.

    SQLite would otherwise do it in whichever commit finds the log past 1000 pages, and fsync the file there: a
    stall of 8-11 ms on this machine every hundred commits or so, on the event loop now that SQLite runs there,
    and twice the mean commit time. The connections leave it to this loop (their own threshold is raised to
    `WAL_BACKSTOP_PAGES`, for a process without one). A passive checkpoint waits for no reader or writer.

    A passive checkpoint alone never starts the log over while commits keep coming: the next writer starts it from
    its beginning only if every page of it was copied back, and a commit made while the copy ran leaves some that
    were not. The log then grew to the backstop (10,000 pages every second or so at 600 certificates a second) and
    a commit on the loop copied it back itself: stalls of up to 700 ms. So past `restart_pages` a RESTART
    checkpoint follows, in a turn of the process's writers (`turn`: they wait for it as for one of their own, and
    none is left polling for the lock). It copies the pages committed since the passive one and waits for readers
    to leave the log, at most `RESTART_WAIT` (another process's writer or a long reader makes it give up until the
    next round); the next commit then starts the log over."""

    def __init__(
        self,
        database: str,
        *,
        turn: Callable[[], AbstractAsyncContextManager[None]],
        interval: float = 0.5,
        restart_pages: int = 2_000,
    ) -> None:
        # mode=rw: a database removed meanwhile is not created again, empty, by the checkpoint.
        self._uri = f"{Path(database).resolve().as_uri()}?mode=rw"
        self._turn = turn
        self._interval = interval
        self._restart_pages = restart_pages
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            if await asyncio.to_thread(self._checkpoint, "PASSIVE") >= self._restart_pages:
                try:
                    async with self._turn():
                        await asyncio.to_thread(self._checkpoint, "RESTART")
                except DBAPIError as exc:  # the writers' turn did not come (another process kept it): next round
                    log.warning("checkpoint of %s waited for the writers in vain (%s)", self._uri, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    def stop(self) -> None:
        self._stopping.set()

    def _checkpoint(self, mode: str) -> int:
        """The log's length in pages after a checkpoint in `mode`. On a worker thread, with a connection opened and
        closed there: a cancelled `run` leaves the thread to finish with it (a connection closed by one thread while
        another uses it crashes the process)."""
        try:
            with contextlib.closing(
                sqlite3.connect(self._uri, uri=True, isolation_level=None, timeout=RESTART_WAIT)
            ) as connection:
                _, pages, _ = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                return int(pages)
        except sqlite3.Error as exc:
            log.warning("checkpoint of %s failed (%s); trying again in %.1f s", self._uri, exc, self._interval)
            return 0
