"""SQLite on the event loop's thread: statements run where they are awaited, and a writer that finds SQLite's
write lock taken waits on the loop (other coroutines keep running) until it is free or its wait runs out."""

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract import database, sqlite_inline
from services.contract.database import checkpointer, create_engine, is_unavailable, reading, writing
from tests.support.notes import NOTES, notes_database
from tests.support.waiting import eventually


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with notes_database(tmp_path / "inline.db", "first") as engine:
        yield engine


@contextlib.contextmanager
def write_lock_held_elsewhere(engine: AsyncEngine) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding SQLite's write lock until the block ends."""
    other = sqlite3.connect(str(engine.url.database), isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes (text) VALUES ('from elsewhere')")
        yield other
        other.execute("COMMIT")
    finally:
        other.close()


class Ticker:
    """Counts the turns of the event loop it gets while running: a blocked loop gives it none."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0.002)

    def __enter__(self) -> "Ticker":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_statements_run_on_the_loops_thread_and_start_no_worker_thread(engine: AsyncEngine) -> None:
    seen: list[int] = []

    def caller_thread() -> int:
        seen.append(threading.get_ident())
        return 1

    def record_thread(sync: Connection) -> None:
        sync.connection.driver_connection._conn.create_function("caller_thread", 0, caller_thread)  # type: ignore[union-attr]

    threads_before = threading.active_count()
    async with engine.connect() as connection:
        await connection.run_sync(record_thread)
        assert await connection.scalar(text("SELECT caller_thread()")) == 1
        await connection.rollback()

    assert seen == [threading.get_ident()]
    assert threading.active_count() == threads_before


async def test_a_writer_waits_for_the_write_lock_on_the_loop_then_writes(engine: AsyncEngine) -> None:
    async def write() -> None:
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": "waited"}])

    with write_lock_held_elsewhere(engine), Ticker() as ticker:
        writer = asyncio.create_task(write())
        await eventually(lambda: _async(ticker.ticks >= 20), within=10, what="the loop to keep turning")
        assert not writer.done(), "the writer went ahead while another connection held the write lock"
        # A reader is not held up by the lock (WAL): it reads the last committed state.
        async with reading(engine) as connection:
            assert (await connection.execute(select(NOTES.c.text).order_by(NOTES.c.id))).scalars().all() == ["first"]
    await asyncio.wait_for(writer, timeout=10)

    async with reading(engine) as connection:
        texts = (await connection.execute(select(NOTES.c.text).order_by(NOTES.c.id))).scalars().all()
    assert texts == ["first", "from elsewhere", "waited"]


async def test_a_writer_gives_up_after_its_wait_and_the_database_counts_as_unavailable(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "WRITE_LOCK_WAIT", 0.3)
    with write_lock_held_elsewhere(engine), Ticker() as ticker:
        with pytest.raises(OperationalError, match="database is locked") as refused:
            async with writing(engine) as connection:
                await connection.execute(insert(NOTES), [{"text": "never"}])
        assert ticker.ticks >= 10, "the loop stood still while the writer waited"
    assert is_unavailable(refused.value)

    async with reading(engine) as connection:
        assert "never" not in (await connection.execute(select(NOTES.c.text))).scalars().all()


async def test_a_failed_statement_is_the_drivers_error_and_the_next_writer_has_a_new_connection(
    engine: AsyncEngine,
) -> None:
    with pool_events(engine, "checkout", "invalidate") as seen:
        with pytest.raises(OperationalError, match="no such table"):
            async with writing(engine) as connection:
                await connection.execute(text("SELECT * FROM missing"))
        assert seen == ["invalidate"]  # the kept connection, closed: it failed in the database
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": "after"}])
        assert seen == ["invalidate", "checkout"]
    async with reading(engine) as connection:
        assert await connection.scalar(select(NOTES.c.id).where(NOTES.c.text == "after")) is not None


@contextlib.contextmanager
def pool_events(engine: AsyncEngine, *names: str) -> Iterator[list[str]]:
    """The names of the pool's events among `names`, in order, while the block runs."""
    seen: list[str] = []
    listeners = [(name, lambda *_args, name=name: seen.append(name)) for name in names]
    for name, listener in listeners:
        event.listen(engine.sync_engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)


async def test_writers_take_turns_on_one_connection_kept_open(engine: AsyncEngine) -> None:
    """Taking a connection from the pool and giving it back cost more than a short transaction's statements."""
    with pool_events(engine, "checkout", "checkin", "invalidate") as seen:
        for note in ("a", "b", "c"):
            async with writing(engine) as connection:
                await connection.execute(insert(NOTES), [{"text": note}])
    assert seen == []
    assert await _count(engine) == 4


async def test_work_that_fails_outside_the_database_rolls_back_and_keeps_the_connection(engine: AsyncEngine) -> None:
    async def write_then_refuse() -> None:
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": "rolled back"}])
            raise LookupError("refused by the work")

    with pool_events(engine, "checkout", "checkin", "invalidate") as seen:
        with pytest.raises(LookupError):
            await write_then_refuse()
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": "kept"}])
    assert seen == []
    async with reading(engine) as connection:
        assert sorted(await connection.scalars(select(NOTES.c.text))) == ["first", "kept"]


async def test_disposing_of_the_engine_closes_the_kept_connection(engine: AsyncEngine) -> None:
    """SQLite removes the log when the last connection to the file closes: one left open would keep it."""
    database = str(engine.url.database)
    assert _has_log(database)
    await engine.dispose()
    assert not _has_log(database)


async def test_disposing_of_the_engine_mid_transaction_lets_it_commit_then_closes_its_connection(
    engine: AsyncEngine,
) -> None:
    database = str(engine.url.database)
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": "through the disposal"}])
            inside.set()
            await go_on.wait()

    writer = asyncio.create_task(write())
    await asyncio.wait_for(inside.wait(), timeout=10)
    await engine.dispose()
    assert _has_log(database)  # the transaction's connection is still open
    go_on.set()
    await asyncio.wait_for(writer, timeout=10)
    assert not _has_log(database)
    with contextlib.closing(sqlite3.connect(database)) as other:
        assert other.execute("SELECT count(*) FROM notes WHERE text = 'through the disposal'").fetchone() == (1,)


async def test_readers_take_turns_on_connections_kept_open(engine: AsyncEngine) -> None:
    with pool_events(engine, "checkout", "checkin", "invalidate") as seen:
        for _ in range(3):
            assert await _count(engine) == 1
    assert seen == ["checkout"]  # the first reader's connection, kept for the next ones


async def test_a_kept_reader_ends_its_snapshot_with_its_block(engine: AsyncEngine) -> None:
    """A read transaction left open on a kept connection would read the same snapshot ever after."""
    assert await _count(engine) == 1
    async with writing(engine) as connection:
        await connection.execute(insert(NOTES), [{"text": "second"}])
    assert await _count(engine) == 2


async def test_readers_at_once_read_their_own_snapshots_then_idle_ones_are_kept_up_to_a_bound(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_READERS", 2)
    readers_inside, writer_done = asyncio.Event(), asyncio.Event()
    inside = 0

    async def read_twice() -> tuple[int, int]:
        nonlocal inside
        async with reading(engine) as connection:
            before = int(await connection.scalar(select(func.count()).select_from(NOTES)) or 0)
            inside += 1
            if inside == 3:
                readers_inside.set()
            await writer_done.wait()
            return before, int(await connection.scalar(select(func.count()).select_from(NOTES)) or 0)

    assert await _count(engine) == 1  # a reader kept idle
    with pool_events(engine, "checkout", "checkin") as seen:
        readers = [asyncio.create_task(read_twice()) for _ in range(3)]
        await asyncio.wait_for(readers_inside.wait(), timeout=10)
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": "meanwhile"}])
        writer_done.set()
        assert [await reader for reader in readers] == [(1, 1)] * 3  # each read one snapshot throughout
        assert seen == ["checkout", "checkout", "checkin"]  # two more than the one kept; two kept, one given back
        for _ in range(2):
            assert await _count(engine) == 2
        assert seen == ["checkout", "checkout", "checkin"]


async def test_a_reader_that_failed_in_the_database_closes_its_connection_and_one_that_failed_elsewhere_keeps_it(
    engine: AsyncEngine,
) -> None:
    async def read_then_refuse() -> None:
        async with reading(engine) as connection:
            await connection.execute(select(NOTES.c.id))
            raise LookupError("not found, say")

    assert await _count(engine) == 1
    with pool_events(engine, "checkout", "invalidate") as seen:
        with pytest.raises(LookupError):
            await read_then_refuse()
        assert seen == []
        with pytest.raises(OperationalError, match="no such table"):
            async with reading(engine) as connection:
                await connection.execute(text("SELECT * FROM missing"))
        assert seen == ["invalidate"]
        assert await _count(engine) == 1
        assert seen == ["invalidate", "checkout"]


async def test_disposing_of_the_engine_closes_kept_readers_and_one_reading_when_it_ends(engine: AsyncEngine) -> None:
    database = str(engine.url.database)
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def read() -> int:
        async with reading(engine) as connection:
            inside.set()
            await go_on.wait()
            return int(await connection.scalar(select(func.count()).select_from(NOTES)) or 0)

    assert await _count(engine) == 1  # a reader kept idle, beside the writer
    reader = asyncio.create_task(read())
    await asyncio.wait_for(inside.wait(), timeout=10)
    await engine.dispose()
    assert _has_log(database)  # the reading transaction's connection is still open
    go_on.set()
    assert await asyncio.wait_for(reader, timeout=10) == 1
    assert not _has_log(database)


def _log(database: str) -> Path:
    """SQLite's write-ahead log of the database."""
    return Path(f"{database}-wal")


def _has_log(database: str) -> bool:
    return _log(database).exists()


async def _count(engine: AsyncEngine) -> int:
    async with reading(engine) as connection:
        return int(await connection.scalar(select(func.count()).select_from(NOTES)) or 0)


async def _async(value: bool) -> bool:
    return value


PAGE = 4096


def _sizes(database: str) -> tuple[int, int]:
    """Bytes of the database file and of its write-ahead log. A checkpoint copies the log's pages into the file;
    the log file keeps its length (the next writer starts it over), so the file's growth tells a checkpoint."""
    return Path(database).stat().st_size, _log(database).stat().st_size


async def test_commits_leave_the_log_to_the_checkpointer_which_copies_it_back_off_the_loop(
    engine: AsyncEngine,
) -> None:
    database = str(engine.url.database)
    for batch in range(30):  # some 1,500 pages of log: past SQLite's own threshold of 1,000
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": f"{batch}-{n}-" + "x" * 2000} for n in range(100)])
    file, log = _sizes(database)
    assert log > 1200 * PAGE, "a commit checkpointed the log itself (past 1,000 pages it starts over), on the loop"
    assert file < 100 * PAGE

    checkpoints = checkpointer(engine)
    assert checkpoints is not None
    running = asyncio.create_task(checkpoints.run())
    try:
        await eventually(lambda: _async(_sizes(database)[0] > 1200 * PAGE), within=10, what="the log to be copied back")
    finally:
        checkpoints.stop()
        await asyncio.wait_for(running, timeout=10)
    async with reading(engine) as connection:
        assert await connection.scalar(select(func.count()).select_from(NOTES)) == 1 + 30 * 100


async def test_under_steady_commits_the_checkpointer_starts_the_log_over_before_it_reaches_the_backstop(
    engine: AsyncEngine,
) -> None:
    """Commits keep coming while each checkpoint copies the log back: a passive checkpoint alone then never lets
    the log start over, and it grows until a commit on the loop checkpoints it itself. The log file keeps the
    length the log once reached, so its size after the run says how long the log grew."""
    database = str(engine.url.database)
    checkpoints = checkpointer(engine, interval=0.01, restart_pages=100)
    assert checkpoints is not None
    running = asyncio.create_task(checkpoints.run())
    written = 0
    try:
        while written < 3000:  # some 3,000 pages of log
            async with writing(engine) as connection:
                await connection.execute(insert(NOTES), [{"text": f"{written}-" + "z" * 3900}])
            written += 1
            await asyncio.sleep(0)  # as between requests: the loop gets round to the checkpointer's turns
    finally:
        checkpoints.stop()
        await asyncio.wait_for(running, timeout=10)
    assert _sizes(database)[1] < 1000 * PAGE, "the log was not started over"
    async with reading(engine) as connection:
        assert await connection.scalar(select(func.count()).select_from(NOTES)) == 1 + 3000


async def test_no_checkpointer_for_a_database_in_memory_or_on_a_server() -> None:
    memory = create_engine("sqlite+aiosqlite:///:memory:")
    server = create_engine("postgresql+asyncpg://sw:secret@127.0.0.1:1/sw")  # not connected: engines connect lazily
    assert checkpointer(memory) is None
    assert checkpointer(server) is None
    await memory.dispose()
    await server.dispose()


async def test_a_checkpointer_cancelled_mid_checkpoint_lets_its_thread_finish_and_the_process_lives(
    engine: AsyncEngine,
) -> None:
    """A service stopping without grace cancels the checkpointer while its thread may be copying the log: the
    connection that thread uses is its own, closed there (closing it from the loop crashed the process in CI)."""
    database = str(engine.url.database)
    for batch in range(40):  # some 8,000 pages of log: the checkpoint takes long enough to be caught in it
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": f"{batch}-{n}-" + "y" * 3900} for n in range(200)])
    before, _log = _sizes(database)
    checkpoints = checkpointer(engine)
    assert checkpoints is not None
    running = asyncio.create_task(checkpoints.run())
    await eventually(lambda: _async(_sizes(database)[0] > before), within=10, what="the checkpoint to start")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await engine.dispose()  # the service's stop closes its own connections while the thread may still copy

    # Only the file now: the last connection to close, the thread's or the engine's, checkpoints and removes the log.
    await eventually(
        lambda: _async(Path(database).stat().st_size > 7000 * PAGE), within=30, what="the checkpoint to end"
    )
    async with reading(engine) as connection:
        assert await connection.scalar(select(func.count()).select_from(NOTES)) == 1 + 40 * 200
