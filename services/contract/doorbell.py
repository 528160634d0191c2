"""Waking the outbox relay of the instance that publishes when another instance commits events.

The outbox of a service is published by one instance at a time (the one holding the relay's lease). Its own
commits wake its relay at once; without a bell, an event another instance commits waits for the relay's next poll
(`outbox_poll_ms`, half a second by default): half of all events with two instances. Two bells, one for each
database:

- SQLite (`PipeBell`): instances on one host share the file. The publishing one listens on a named pipe beside
  it, `<file>-outbox-bell`, and the others write a byte to it after each commit that put events in the outbox.
- PostgreSQL (`NotifyBell`): instances anywhere share the server. The others notify `CHANNEL` after each such
  commit, in a statement of its own, and the publishing instance listens on a connection of its own.

A ring is a hint, never the only way an event gets sent: one that finds nobody listening (no instance publishes
yet), or the pipe full (the listener has rings waiting already), is dropped, and the relay's poll is the backstop,
as it is while a listening connection is lost.
"""

import asyncio
import logging
import os
import stat
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contract.database import sqlite_file

log = logging.getLogger(__name__)

SUFFIX = "-outbox-bell"
"""The pipe's name beside a SQLite file."""
CHANNEL = "outbox_bell"
"""The notification channel on PostgreSQL (one database a service)."""
BELL_ERRORS = (SQLAlchemyError, OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""What listening or notifying may raise: a connection refused, lost or not to be had from the pool in time."""


class Doorbell(Protocol):
    rung: int
    """Rings sent (those dropped not counted)."""

    @property
    def listening(self) -> bool: ...

    def ring(self) -> None:
        """Wake the listener, if one listens, after a commit that put events in the outbox; never blocks, never
        raises."""

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` on the running loop whenever another instance rings, until `stop_listening`."""

    async def stop_listening(self) -> None: ...

    async def close(self) -> None: ...


class PipeBell:
    """The named pipe at `path`, made if absent: `ring` it from any process, `listen` on it in one."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            os.mkfifo(path, 0o600)
        except FileExistsError:
            if not stat.S_ISFIFO(os.stat(path).st_mode):
                raise OSError(f"{path} is there and is not a named pipe") from None
        self._ringing: int | None = None
        """Open for writing from the first ring until the listener goes away."""
        self._listening: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.rung = 0
        """Rings written (dropped ones not counted)."""

    @property
    def listening(self) -> bool:
        return self._listening is not None

    def ring(self) -> None:
        if self._closed:
            return
        if self._ringing is None:
            try:
                self._ringing = _open_pipe(self.path, os.O_WRONLY)
            except OSError:  # ENXIO: nobody listens; the next ring tries again
                return
        try:
            os.write(self._ringing, b"\x01")
        except BlockingIOError:  # the pipe is full: the listener has rings to read already
            return
        except OSError:  # EPIPE: the listener went away (Python ignores SIGPIPE); the next ring opens it again
            self._stop_ringing()
            return
        self.rung += 1

    async def listen(self, wake: Callable[[], None]) -> None:
        """Opened for reading and writing both: a pipe opened only for reading reads as at its end whenever no one
        else has it open, and the loop would be woken for nothing, again and again."""
        if self._listening is not None:
            return
        descriptor = _open_pipe(self.path, os.O_RDWR)
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(descriptor, self._answer, descriptor, wake)
        except BaseException:
            os.close(descriptor)
            raise
        self._loop, self._listening = loop, descriptor

    async def stop_listening(self) -> None:
        if self._listening is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._listening)
        os.close(self._listening)
        self._listening = self._loop = None

    async def close(self) -> None:
        """Stop listening and ringing for good (commits that come after it ring no more)."""
        self._closed = True
        await self.stop_listening()
        self._stop_ringing()

    def _answer(self, descriptor: int, wake: Callable[[], None]) -> None:
        try:
            while len(os.read(descriptor, 4096)) == 4096:  # every ring waiting; one wake-up answers them all
                pass
        except BlockingIOError:
            pass
        wake()

    def _stop_ringing(self) -> None:
        if self._ringing is not None:
            os.close(self._ringing)
            self._ringing = None


def _open_pipe(path: str, mode: int) -> int:
    """A descriptor of the named pipe at `path`; OSError if something else is there now (a file written to would
    grow by a byte a commit, and the event loop refuses to watch one)."""
    descriptor = os.open(path, mode | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise OSError(f"{path} is no longer a named pipe")
    return descriptor


class NotifyBell:
    """PostgreSQL's notifications on `CHANNEL`. `listen` takes a connection of its own, detached from the engine's
    pool (whose connections are the requests'); `ring` notifies in a statement of its own on a connection of the
    pool, after the commit and not in it: a transaction that notifies holds PostgreSQL's notification lock through
    its commit, so a notification in each lodging's transaction would have made their commits, and their flushes to
    disk, one at a time. One ring is in flight at a time; those asked for meanwhile make one more after it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._notifying = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # asyncpg's connection under it
        self._ringing: asyncio.Task[None] | None = None
        self._again = False
        self._closed = False
        self.rung = 0
        """Notifications sent."""

    @property
    def listening(self) -> bool:
        return self._driver is not None and not self._driver.is_closed()

    def ring(self) -> None:
        if self._closed:
            return
        if self._ringing is not None and not self._ringing.done():
            self._again = True
            return
        self._ringing = asyncio.get_running_loop().create_task(self._notify(), name="outbox-bell")

    async def _notify(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            try:
                async with self._notifying.connect() as connection:
                    await connection.execute(_NOTIFY, {"channel": CHANNEL})
            except BELL_ERRORS as exc:  # the poll finds the events all the same
                log.debug("outbox bell: no notification (%s)", exc)
                return
            self.rung += 1

    async def listen(self, wake: Callable[[], None]) -> None:
        if self.listening:
            return
        await self.stop_listening()  # a connection lost meanwhile
        connection = await self._engine.connect()
        try:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            raw.detach()  # closed, not given back to the pool, when it ends

            def heard(*_: object) -> None:
                wake()

            await driver.add_listener(CHANNEL, heard)
        except BaseException:
            await connection.invalidate()
            await connection.close()
            raise
        self._connection, self._driver = connection, driver

    async def stop_listening(self) -> None:
        """The connection is dropped, not told to stop listening: the session's LISTEN ends with it, and an UNLISTEN
        on a connection silently lost would wait as long as the network lets it."""
        connection = self._connection
        self._connection = self._driver = None
        if connection is not None:
            await connection.invalidate()
            await connection.close()

    async def close(self) -> None:
        """Stop listening and ringing for good (commits that come after it ring no more)."""
        self._closed = True
        await self.stop_listening()
        if self._ringing is not None and not self._ringing.done():
            self._ringing.cancel()
            await asyncio.wait({self._ringing})  # its own end, not the caller's cancellation


_NOTIFY = text("SELECT pg_notify(:channel, '')")


def doorbell_for(engine: AsyncEngine) -> Doorbell | None:
    """The bell of the engine's outbox: on PostgreSQL its notifications, on SQLite the pipe beside the file; None
    for a SQLite database in memory, or where the pipe cannot be made (then the relay's poll alone wakes it for
    other instances' events)."""
    if engine.dialect.name == "postgresql":
        return NotifyBell(engine)
    file = sqlite_file(engine)
    if file is None:
        return None
    try:
        return PipeBell(file + SUFFIX)
    except OSError as exc:
        log.warning("the outbox relay of %s will not be rung by other processes (%s)", file, exc)
        return None
