"""The turns of the processes that write one SQLite file, so that several instances of a service share it.

SQLite's write lock has no queue: a writer that finds it taken can only try again later. Two gateway processes
lodging on one file polled for each other's lock and together did no better than one. Here the processes take
turns through two lock files beside the database, with `flock`, which the kernel wakes a waiter on:

- `<file>-turn`, held exclusively by the process whose writers are at SQLite's lock;
- `<file>-waiting`, held shared by a process waiting for the turn: the process with the turn sees it, and gives
  the turn up between two of its transactions once it has had it for `TURN_SECONDS`.

A process alone takes the turn without waiting and keeps it as long as it writes: a system call or two when its
writers start and stop. Waiting is done by a thread of its own, off the event loop.

SQLite's own lock still keeps the writes safe: a program that does not take turns (the sqlite3 shell, a process
of an older version) is waited for by polling, as before (`sqlite_inline`)."""

import asyncio
import fcntl
import logging
import os
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

TURN_SECONDS = 0.002
"""How long a process keeps the turn while another waits for it: a few of its transactions, then the other's."""


class ProcessTurns:
    """The turn of this process's writers at one SQLite file (see the module). Its owner takes it (`try_take`, or
    `fetch` to wait for it), asks whether another process wants it (`wanted`), and gives it back (`give`)."""

    def __init__(self, file: str) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        self._turn = os.open(f"{file}-turn", flags, 0o600)
        try:
            self._waiting = os.open(f"{file}-waiting", flags, 0o600)
        except OSError:
            os.close(self._turn)
            raise
        self._fetches: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()  # None: stop
        self._fetcher: threading.Thread | None = None
        self.waited = 0
        """The times this process waited for the turn (another had it)."""

    def try_take(self) -> bool:
        """Take the turn if no other process has it."""
        return _locked(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def wanted(self) -> bool:
        """Whether another process waits for the turn."""
        if not _locked(self._waiting, fcntl.LOCK_EX | fcntl.LOCK_NB):
            return True
        fcntl.flock(self._waiting, fcntl.LOCK_UN)
        return False

    def give(self) -> None:
        fcntl.flock(self._turn, fcntl.LOCK_UN)

    def fetch(self, taken: Callable[[], None]) -> None:
        """Wait for the turn on the fetching thread, and call `taken` on this event loop once it is this process's.
        One fetch at a time: the owner asks for the next only after the last came."""
        loop = asyncio.get_running_loop()
        self.waited += 1
        if self._fetcher is None:
            self._fetcher = threading.Thread(target=self._fetching, name="sqlite-turns", daemon=True)
            self._fetcher.start()
        self._fetches.put(lambda: loop.call_soon_threadsafe(taken))

    def close(self) -> None:
        """Close the lock files (the turn is given up with them): only while no fetch waits."""
        if self._fetcher is not None:
            self._fetches.put(None)
        os.close(self._turn)
        os.close(self._waiting)

    def _fetching(self) -> None:
        """The fetching thread: for each fetch, wait for the turn, showing meanwhile that this process waits."""
        while True:
            came = self._fetches.get()
            if came is None:
                return
            try:
                fcntl.flock(self._waiting, fcntl.LOCK_SH)
                try:
                    fcntl.flock(self._turn, fcntl.LOCK_EX)
                finally:
                    fcntl.flock(self._waiting, fcntl.LOCK_UN)
            except OSError as exc:  # the writers go on without a turn: SQLite's lock still keeps them apart
                log.warning("could not wait for the writers' turn (%s); writing without it", exc)
            try:
                came()
            except RuntimeError:  # the loop was closed meanwhile: the process is ending
                self.give()


def _locked(descriptor: int, operation: int) -> bool:
    try:
        fcntl.flock(descriptor, operation)
    except BlockingIOError:
        return False
    return True


def turns_for(file: str | None) -> ProcessTurns | None:
    """The turns at SQLite `file`; None for a database in memory, or where the lock files cannot be made (then the
    writers poll for SQLite's lock, as a process alone would not notice)."""
    if file is None:
        return None
    try:
        return ProcessTurns(file)
    except OSError as exc:
        log.warning("writers of %s will not take turns with other processes (%s)", file, exc)
        return None
