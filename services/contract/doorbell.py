"""A wake-up between the processes of one host that share a SQLite file: a named pipe beside the file.

The outbox of a service is published by one instance at a time (the one holding the relay's lease). Its own
commits wake its relay at once; without this, an event another instance commits waits for the relay's next poll
(`outbox_poll_ms`, half a second by default), half of all events with two instances. So the publishing instance
listens on `<file>-outbox-bell`, and the others write a byte to it after each commit that put events in the outbox.

A ring is a hint, never the only way an event gets sent: one that finds nobody listening (no instance publishes
yet), or the pipe full (the listener has rings waiting already), is dropped, and the relay's poll is the backstop.
Instances on other hosts, and a PostgreSQL database, have the poll alone.
"""

import asyncio
import logging
import os
import stat
from collections.abc import Callable

log = logging.getLogger(__name__)

SUFFIX = "-outbox-bell"


class Doorbell:
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
        self.rung = 0
        """Rings written (dropped ones not counted)."""

    def ring(self) -> None:
        """Wake the listener, if one listens; never blocks, never raises."""
        if self._ringing is None:
            try:
                self._ringing = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
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

    def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` on the running loop whenever the bell rings, until `stop_listening`. Opened for reading and
        writing both: a pipe opened only for reading reads as at its end whenever no one else has it open, and the
        loop would be woken for nothing, again and again."""
        if self._listening is not None:
            return
        descriptor = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(descriptor, self._answer, descriptor, wake)
        self._listening = descriptor

    @property
    def listening(self) -> bool:
        return self._listening is not None

    def stop_listening(self) -> None:
        if self._listening is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._listening)
        os.close(self._listening)
        self._listening = self._loop = None

    def close(self) -> None:
        self.stop_listening()
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


def doorbell_for(file: str | None) -> Doorbell | None:
    """The doorbell of the outbox in SQLite `file`; None for a database in memory or on a server, or where the
    pipe cannot be made (then the relay's poll alone wakes it for other instances' events)."""
    if file is None:
        return None
    try:
        return Doorbell(file + SUFFIX)
    except OSError as exc:
        log.warning("the outbox relay of %s will not be rung by other processes (%s)", file, exc)
        return None
