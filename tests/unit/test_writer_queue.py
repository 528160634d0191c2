"""The turns of a process's SQLite writers: first come first served, writers ahead before the others waiting."""

import asyncio

import pytest

from services.contract.database import WriterQueue


async def _writer(queue: WriterQueue, name: str, log: list[str], *, ahead: bool = False) -> None:
    async with queue.turn(ahead=ahead):
        log.append(name)
        await asyncio.sleep(0)  # a turn that yields: the others must still wait for it to end


async def _settle() -> None:
    """Let every task started so far run until it waits."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_writers_take_turns_in_the_order_they_came() -> None:
    queue, log = WriterQueue(), list[str]()
    async with queue.turn():
        tasks = [asyncio.create_task(_writer(queue, name, log)) for name in "abcd"]
        await _settle()
        assert log == []  # the turn held keeps them all waiting
    await asyncio.gather(*tasks)
    assert log == ["a", "b", "c", "d"]
    assert not queue.locked()


async def test_writers_ahead_go_before_the_others_waiting_in_their_own_order() -> None:
    queue, log = WriterQueue(), list[str]()
    async with queue.turn():
        tasks = [
            asyncio.create_task(_writer(queue, "request-1", log)),
            asyncio.create_task(_writer(queue, "request-2", log)),
            asyncio.create_task(_writer(queue, "batch-1", log, ahead=True)),
            asyncio.create_task(_writer(queue, "request-3", log)),
            asyncio.create_task(_writer(queue, "batch-2", log, ahead=True)),
        ]
        await _settle()
    await asyncio.gather(*tasks)
    assert log == ["batch-1", "batch-2", "request-1", "request-2", "request-3"]


async def test_a_writer_coming_while_a_turn_is_handed_on_waits_for_its_own() -> None:
    queue, log = WriterQueue(), list[str]()
    async with queue.turn():
        waiting = asyncio.create_task(_writer(queue, "waiting", log))
        await _settle()
    # The turn is the waiting writer's now, though it has not run yet: a newcomer does not slip in before it.
    assert queue.locked()
    await _writer(queue, "newcomer", log)
    await waiting
    assert log == ["waiting", "newcomer"]


async def test_a_writer_cancelled_while_waiting_leaves_the_queue() -> None:
    queue, log = WriterQueue(), list[str]()
    async with queue.turn():
        gone = asyncio.create_task(_writer(queue, "gone", log, ahead=True))
        stays = asyncio.create_task(_writer(queue, "stays", log))
        await _settle()
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
    await stays
    assert log == ["stays"]
    assert not queue.locked()


async def test_a_writer_cancelled_as_its_turn_came_hands_it_on() -> None:
    queue, log = WriterQueue(), list[str]()
    async with queue.turn():
        cancelled = asyncio.create_task(_writer(queue, "cancelled", log))
        after = asyncio.create_task(_writer(queue, "after", log))
        await _settle()
    cancelled.cancel()  # its turn was handed to it when the holder left, and it has not run since
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(after, timeout=5)
    assert log == ["after"]
    assert not queue.locked()


async def test_a_turn_that_raises_is_given_up() -> None:
    queue = WriterQueue()
    with pytest.raises(RuntimeError):
        async with queue.turn():
            raise RuntimeError("the transaction failed")
    assert not queue.locked()
    async with queue.turn(ahead=True):
        assert queue.locked()
