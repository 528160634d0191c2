"""Group commit on a SQLite file: the transactions asked for while others are written commit together, each caller
answered with what its own work gave or raised, under its own context variables."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract.database import _kept_for, reading
from services.contract.group_commit import MOST_TOGETHER, GroupCommit
from services.contract.logs import correlation_id
from services.contract.outbox import Transaction, Transactions
from services.contract.tracing import Tracing
from services.gateway.adapters.orm import outbox
from services.gateway.settings import GatewaySettings
from tests.support.notes import NOTES, notes_database

pytestmark = pytest.mark.integration


class _Unused:
    """The relay the transactions would wake: these publish nothing."""

    def notify(self) -> None:
        raise AssertionError("nothing was published")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with notes_database(tmp_path / "group.db") as engine:
        yield engine


@pytest.fixture
def group(engine: AsyncEngine) -> GroupCommit:
    relay: Any = _Unused()
    transactions = Transactions(engine, outbox, GatewaySettings(), relay, tracing=Tracing("test"))
    return GroupCommit(transactions)


def noting(text: str, *, fails: bool = False) -> Any:
    """Work that writes a note, and gives the correlation id it ran under (or raises, once written)."""

    async def work(transaction: Transaction) -> str | None:
        await transaction.connection.execute(insert(NOTES), [{"text": text}])
        if fails:
            raise ValueError(f"{text} fails")
        return correlation_id.get()

    return work


async def asked(group: GroupCommit, text: str, *, fails: bool = False) -> str | None:
    correlation_id.set(f"for {text}")  # in this task's context only
    result: str | None = await group.run(noting(text, fails=fails))
    return result


async def noted(engine: AsyncEngine) -> list[str]:
    async with reading(engine) as connection:
        return list((await connection.execute(select(NOTES.c.text).order_by(NOTES.c.id))).scalars())


async def _settle() -> None:
    """Let every task started so far run until it waits."""
    for _ in range(5):
        await asyncio.sleep(0)


async def queued_behind_a_writer(engine: AsyncEngine, group: GroupCommit, texts: str, **failing: bool) -> Any:
    """Callers asking while another writer holds the turn: the first leads and waits for it, the others queue."""
    async with _kept_for(engine).writers.turn():
        tasks = {text: asyncio.create_task(asked(group, text, fails=failing.get(text, False))) for text in texts}
        await _settle()
        assert not any(task.done() for task in tasks.values())
    return tasks


async def test_work_asked_for_meanwhile_commits_together_each_answered_under_its_own_context(
    engine: AsyncEngine, group: GroupCommit
) -> None:
    tasks = await queued_behind_a_writer(engine, group, "abcdef")
    answers = {text: await task for text, task in tasks.items()}
    assert answers == {text: f"for {text}" for text in "abcdef"}
    assert await noted(engine) == list("abcdef")  # in the order asked
    # The leader commits its own alone (it asked first, alone); the next ones together, MOST_TOGETHER at a time.
    assert MOST_TOGETHER == 4
    assert group.together == 4


async def test_a_caller_alone_commits_at_once_in_its_own_task(engine: AsyncEngine, group: GroupCommit) -> None:
    assert await asked(group, "alone") == "for alone"
    assert await noted(engine) == ["alone"]
    assert group.together == 0


async def test_work_that_fails_leaves_nothing_and_the_rest_commit_and_are_answered(
    engine: AsyncEngine, group: GroupCommit
) -> None:
    tasks = await queued_behind_a_writer(engine, group, "abcde", c=True)
    with pytest.raises(ValueError, match="c fails"):
        await tasks["c"]
    assert [await tasks[text] for text in "abde"] == [f"for {text}" for text in "abde"]
    assert await noted(engine) == list("abde")  # the group with c rolled back, and each ran again alone


async def test_a_caller_that_goes_away_while_waiting_is_left_out_and_the_rest_go_on(
    engine: AsyncEngine, group: GroupCommit
) -> None:
    async with _kept_for(engine).writers.turn():
        tasks = {text: asyncio.create_task(asked(group, text)) for text in "abcd"}
        await _settle()
        tasks["c"].cancel()
    assert [await tasks[text] for text in "abd"] == [f"for {text}" for text in "abd"]
    assert tasks["c"].cancelled()
    assert await noted(engine) == list("abd")


async def test_a_leader_that_goes_away_hands_the_lead_on(engine: AsyncEngine, group: GroupCommit) -> None:
    async with _kept_for(engine).writers.turn():
        tasks = {text: asyncio.create_task(asked(group, text)) for text in "abc"}
        await _settle()
        tasks["a"].cancel()  # the leader, waiting for the writers' turn
        await _settle()
    assert [await tasks[text] for text in "bc"] == ["for b", "for c"]
    assert tasks["a"].cancelled()
    assert await noted(engine) == ["b", "c"]
    assert await asked(group, "d") == "for d"  # led at once: nobody holds the lead
