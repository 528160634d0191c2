"""Processes writing one SQLite file take turns through its lock files (`sqlite_turns`): each waits for the turn
woken by the kernel, gets it once the process that has it had it long enough, and gives up after its wait."""

import asyncio
import fcntl
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract import sqlite_inline
from services.contract.database import _kept_for, is_unavailable, reading, writing
from tests.integration.test_sqlite_inline import Ticker, _async
from tests.support.notes import NOTES, notes_database
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import asyncio, json, sys, time
from pathlib import Path
from sqlalchemy import text
from services.contract.database import _kept_for, create_engine, writing

async def main(database: str, name: str, count: int) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    Path(f"{database}.{name}.ready").touch()
    deadline = time.monotonic() + 30
    while len(list(Path(database).parent.glob("*.ready"))) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # both start writing at once

    async def one(n: int) -> None:
        async with writing(engine) as connection:
            await connection.execute(text("INSERT INTO notes (text) VALUES (:text)"), {"text": f"{name}-{n}"})

    await asyncio.gather(*(one(n) for n in range(count)))
    print(json.dumps({"waited": _kept_for(engine).writers.between.waited}))
    await engine.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with notes_database(tmp_path / "turns.db") as engine:
        yield engine


async def count_notes(engine: AsyncEngine, prefix: str = "") -> int:
    async with reading(engine) as connection:
        return int(await connection.scalar(select(func.count()).where(NOTES.c.text.startswith(prefix))) or 0)


async def test_two_processes_writing_one_file_take_turns_and_each_writes_all(engine: AsyncEngine) -> None:
    database = str(engine.url.database)
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, database, name, "400", cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        for name in ("first", "second")
    ]
    outputs = [await asyncio.wait_for(writer.communicate(), timeout=120) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0]
    waited = [json.loads(out)["waited"] for out, _ in outputs]
    assert all(times > 0 for times in waited), f"a process never waited for the other's turn: {waited}"
    assert (await count_notes(engine, "first-"), await count_notes(engine, "second-")) == (400, 400)


async def test_a_process_alone_writes_without_waiting(engine: AsyncEngine) -> None:
    async def one(n: int) -> None:
        async with writing(engine) as connection:
            await connection.execute(insert(NOTES), [{"text": f"alone-{n}"}])

    await asyncio.gather(*(one(n) for n in range(50)))
    turns = _kept_for(engine).writers.between
    assert turns is not None
    assert turns.waited == 0
    assert await count_notes(engine, "alone-") == 50


async def test_the_turn_goes_to_a_process_that_waits_once_the_other_had_it_long_enough(tmp_path: Path) -> None:
    """Two engines on one file, as two processes: one writes on and on; the other's one write gets in meanwhile."""
    async with (
        notes_database(tmp_path / "two.db") as busy,
        notes_database(tmp_path / "two.db") as other,
    ):
        done = 0

        async def slow(n: int) -> None:
            nonlocal done
            async with writing(busy) as connection:
                await connection.execute(insert(NOTES), [{"text": f"busy-{n}"}])
                await asyncio.sleep(0.002)  # a transaction that takes a while: the turn is held meanwhile
            done += 1

        stream = [asyncio.create_task(slow(n)) for n in range(200)]
        await eventually(lambda: _async(done >= 5), within=30, what="the busy engine writing")
        async with writing(other) as connection:
            await connection.execute(insert(NOTES), [{"text": "other"}])
        assert done < 150, "the other engine's writer waited for the busy one's writers to run out"
        await asyncio.gather(*stream)
        assert await count_notes(busy, "busy-") == 200
        turns = _kept_for(other).writers.between
        assert turns is not None
        assert turns.waited >= 1


async def test_a_writer_gives_up_when_another_process_keeps_the_turn(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "WRITE_LOCK_WAIT", 0.3)
    holder = os.open(f"{engine.url.database}-turn", os.O_RDWR)  # as another process would hold it
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with Ticker() as ticker:
            with pytest.raises(OperationalError, match="database is locked") as refused:
                async with writing(engine) as connection:
                    await connection.execute(insert(NOTES), [{"text": "never"}])
            assert ticker.ticks >= 10, "the loop stood still while the writer waited"
        assert is_unavailable(refused.value)
    finally:
        os.close(holder)  # the turn with it

    async with writing(engine) as connection:  # the turn comes once the other gives it
        await connection.execute(insert(NOTES), [{"text": "after"}])
    assert (await count_notes(engine, "never"), await count_notes(engine, "after")) == (0, 1)


async def test_each_writer_waits_its_own_full_wait_for_another_process_turn(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "WRITE_LOCK_WAIT", 0.6)
    loop = asyncio.get_running_loop()

    async def waited_in_vain(text: str) -> float:
        began = loop.time()
        with pytest.raises(OperationalError, match="database is locked"):
            async with writing(engine) as connection:
                await connection.execute(insert(NOTES), [{"text": text}])
        return loop.time() - began

    holder = os.open(f"{engine.url.database}-turn", os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        first = asyncio.create_task(waited_in_vain("first"))
        await asyncio.sleep(0.3)  # the second writer comes half a wait later
        second = asyncio.create_task(waited_in_vain("second"))
        assert await first >= 0.6
        assert not second.done(), "the second writer failed at the first one's deadline"
        assert await second >= 0.6
    finally:
        os.close(holder)
