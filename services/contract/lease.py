"""A lease held in the service's database: at most one holder at a time, until it expires unrenewed.

The outbox relay holds one so that several instances of a service sharing a database publish its
outbox from one place at a time, in order; another instance takes over when the holder stops renewing.
"""

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract.database import writing

log = logging.getLogger(__name__)


class Lease:
    def __init__(self, *, engine: AsyncEngine, table: Table, name: str, ttl_seconds: float) -> None:
        self._engine = engine
        self._table = table
        self._name = name
        self._ttl = timedelta(seconds=ttl_seconds)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held_until = float("-inf")  # monotonic time until which our lease surely runs

    async def acquire(self) -> bool:
        """Take or renew the lease; False while another holder's lease is still running.

        A lease with more than half its time left is not renewed, which spares the database a write.
        """
        if time.monotonic() < self._held_until - self._ttl.total_seconds() / 2:
            return True
        table, now, started = self._table, datetime.now(UTC), time.monotonic()
        async with writing(self._engine) as connection:
            taken = await connection.execute(
                update(table)
                .where(table.c.name == self._name, or_(table.c.holder == self.holder, table.c.expires_at < now))
                .values(holder=self.holder, expires_at=now + self._ttl)
            )
            if taken.rowcount == 1:
                self._held_until = started + self._ttl.total_seconds()
                return True
            if await connection.scalar(select(table.c.name).where(table.c.name == self._name)) is not None:
                return False
            try:
                async with connection.begin_nested():
                    await connection.execute(
                        insert(table).values(name=self._name, holder=self.holder, expires_at=now + self._ttl)
                    )
            except IntegrityError:
                return False  # another instance created it first
        self._held_until = started + self._ttl.total_seconds()
        return True

    @property
    def held(self) -> bool:
        """Whether this instance's lease surely runs still (it may have lapsed, unrenewed, while the database or
        whatever the holder does failed)."""
        return time.monotonic() < self._held_until

    async def release(self) -> None:
        """Let another instance take over at once (a clean stop)."""
        table, self._held_until = self._table, float("-inf")
        async with writing(self._engine) as connection:
            await connection.execute(
                update(table)
                .where(table.c.name == self._name, table.c.holder == self.holder)
                .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
            )


class LeasedLoop:
    """Runs `work` every `poll_seconds` (or when woken) while this instance holds `lease`; stands by while another
    instance holds it; pauses through database outages. The lease is released on a clean stop."""

    def __init__(self, *, lease: Lease, what: str, poll_seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        self._lease = lease
        self._what = what
        self._poll_seconds = poll_seconds
        self._work = work
        self._wake = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        leading = False
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    if await self._lease.acquire() != leading:
                        leading = not leading
                        log.info("%s %s", self._what, "running" if leading else "standing by: another instance")
                    if leading:
                        await self._work()
                except (DBAPIError, OSError) as exc:
                    log.warning("%s paused (%s)", self._what, exc)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
        finally:
            if leading:
                with suppress(DBAPIError, OSError):
                    await self._lease.release()
