"""The outbox's doorbell (`services.contract.doorbell`): a named pipe that processes sharing a SQLite file ring to
wake the one whose relay publishes. A ring never blocks and never raises; one that nobody hears is dropped."""

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.contract.database import create_engine
from services.contract.doorbell import SUFFIX, NotifyBell, PipeBell, doorbell_for
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


class Woken:
    def __init__(self) -> None:
        self.times = 0

    def __call__(self) -> None:
        self.times += 1

    async def at_least(self, times: int) -> bool:
        return self.times >= times


async def test_a_ring_nobody_listens_to_is_dropped(tmp_path: Path) -> None:
    bell = PipeBell(str(tmp_path / "outbox-bell"))
    bell.ring()
    bell.ring()
    assert bell.rung == 0
    await bell.close()


async def test_another_process_wakes_the_listener(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox-bell")
    listener, woken = PipeBell(path), Woken()
    await listener.listen(woken)
    try:
        ring = f"from services.contract.doorbell import PipeBell; b = PipeBell({path!r}); b.ring(); print(b.rung)"
        rang = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", ring], cwd=ROOT, capture_output=True, text=True, check=True
        )
        assert rang.stdout.strip() == "1"
        await eventually(lambda: woken.at_least(1), within=10, what="the listener woken")
    finally:
        await listener.close()


async def test_rings_waiting_are_answered_by_one_wake_up_and_a_full_pipe_drops_the_rest(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox-bell")
    listener, ringer, woken = PipeBell(path), PipeBell(path), Woken()
    await listener.listen(woken)
    try:
        for _ in range(100_000):  # more than a pipe holds (64 KiB): the rings past it return at once, dropped
            ringer.ring()
        assert 0 < ringer.rung < 100_000
        await eventually(lambda: woken.at_least(1), within=10, what="the listener woken")
        assert woken.times == 1  # every ring was waiting when the loop looked: one wake-up read them all
        ringer.ring()
        await eventually(lambda: woken.at_least(2), within=10, what="a ring after the pipe was read")
    finally:
        await listener.close()
        await ringer.close()


async def test_a_ringer_finds_the_next_listener_after_the_last_went_away(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox-bell")
    ringer = PipeBell(path)
    first, first_woken = PipeBell(path), Woken()
    await first.listen(first_woken)
    ringer.ring()
    await eventually(lambda: first_woken.at_least(1), within=10, what="the first listener woken")
    await first.close()  # an instance that stopped publishing
    ringer.ring()  # nobody hears it: dropped, and the pipe is opened again at the next ring
    assert ringer.rung == 1
    second, second_woken = PipeBell(path), Woken()
    await second.listen(second_woken)
    try:
        ringer.ring()
        assert ringer.rung == 2
        await eventually(lambda: second_woken.at_least(1), within=10, what="the next listener woken")
        assert first_woken.times == 1
    finally:
        await second.close()
        await ringer.close()


async def test_a_listener_stopped_is_not_woken_and_may_listen_again(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox-bell")
    listener, woken = PipeBell(path), Woken()
    await listener.listen(woken)
    await listener.stop_listening()
    assert not listener.listening
    listener.ring()
    assert listener.rung == 0
    await listener.listen(woken)
    try:
        listener.ring()
        await eventually(lambda: woken.at_least(1), within=10, what="the listener woken again")
    finally:
        await listener.close()


async def test_a_file_in_the_bells_place_leaves_the_relay_to_its_poll(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "gateway.db"
    (tmp_path / f"gateway.db{SUFFIX}").write_text("not a pipe")
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    with caplog.at_level(logging.WARNING, logger="services.contract.doorbell"):
        assert doorbell_for(engine) is None
    assert "is not a named pipe" in caplog.text
    await engine.dispose()


async def test_each_database_has_its_bell(tmp_path: Path) -> None:
    on_file = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    bell = doorbell_for(on_file)
    assert isinstance(bell, PipeBell)
    assert bell.path == str(tmp_path / f"gateway.db{SUFFIX}")
    assert os.stat(bell.path).st_mode & 0o077 == 0  # for the owner alone
    await bell.close()
    in_memory = create_engine("sqlite+aiosqlite://")
    assert doorbell_for(in_memory) is None
    on_server = create_engine("postgresql+asyncpg://gateway@127.0.0.1:1/gateway")  # not connected to
    assert isinstance(doorbell_for(on_server), NotifyBell)
    for engine in (on_file, in_memory, on_server):
        await engine.dispose()


async def test_a_bell_closed_rings_no_more(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox-bell")
    listener, ringer, woken = PipeBell(path), PipeBell(path), Woken()
    await listener.listen(woken)
    try:
        await ringer.close()  # its relay stopped; commits of the instance's last moments may still come
        ringer.ring()
        assert ringer.rung == 0
    finally:
        await listener.close()


async def test_a_file_put_in_the_pipes_place_is_neither_listened_to_nor_written(tmp_path: Path) -> None:
    path = tmp_path / "outbox-bell"
    listener, ringer = PipeBell(str(path)), PipeBell(str(path))
    path.unlink()
    path.write_bytes(b"")
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="no longer a named pipe"):
        await listener.listen(Woken())
    assert not listener.listening
    assert len(os.listdir("/proc/self/fd")) == before  # the descriptor opened was closed
    ringer.ring()
    assert ringer.rung == 0
    assert path.read_bytes() == b""
