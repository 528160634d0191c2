"""Group commit: transactions asked for while others are being written commit together, in one of the database's.

A submission's transaction is short (a few inserts), and on SQLite most of its cost is the transaction's own:
beginning it, committing it, and passing the write lock from one writer to the next through the event loop, where
each waits behind whatever else the loop has to do. `GroupCommit.run` queues a transaction's work; one caller's
task (the leader's) takes the work queued so far and runs it back to back in one transaction of the database
(`Transactions.batch`), each in a transaction of its own within it, under the context variables of the task that
asked (its correlation id, who it acts as). Each caller is answered once they all committed. When one fails, none
of them committed: each is run again alone, as `Transactions.begin` would run it, and its caller gets its own
answer or its own error. When the transaction fails otherwise (the database refused the commit, or did not
answer), each caller gets that error.

Only where the database takes one write transaction at a time (SQLite). PostgreSQL runs transactions side by side,
each on a connection of its own, and groups their commits' flushes itself: there each work runs at once, in its
caller's transaction (queued behind one leader, small declarations went from 390 a second to 170).

The work must do nothing but its transaction's (it may run twice), and leave the context variables as it found
them."""

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from services.contract.outbox import Transaction, Transactions, in_batch

log = logging.getLogger(__name__)
T = TypeVar("T")
_LEAD = object()
"""The answer that makes a caller waiting the leader."""

MOST_TOGETHER = 4
"""The most transactions committed together: the first of them waits for the last, and the leader runs them in one
step of the event loop. With 16 or 64, the outbox relay's producer, whose every step waits for such steps, fell
behind under load (events reached Kafka 0.25-1.9 s after acceptance, against 30-45 ms with 4)."""


@dataclass
class _Asked:
    work: Callable[[Transaction], Awaitable[Any]]
    context: contextvars.Context
    answer: asyncio.Future[Any]


class GroupCommit:
    """Commits together the transactions asked for meanwhile (see the module).

    No task of its own: the first caller leads. It commits its work with whatever was asked for meanwhile, answers
    each, and hands the lead to the first caller still waiting, if any; a caller alone commits its work at once,
    in its own task."""

    def __init__(self, transactions: Transactions, *, most: int = MOST_TOGETHER) -> None:
        self._transactions = transactions
        self._most = most
        self._asked: list[_Asked] = []
        self._led = False
        self.together = 0
        """Transactions that committed with others (the rest committed alone)."""

    async def run(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """What `work` gave in its transaction, once that committed; what it raised, and nothing written."""
        if not self._transactions.one_writer:
            async with self._transactions.begin() as transaction:
                return await work(transaction)
        loop = asyncio.get_running_loop()
        asked = _Asked(work, contextvars.copy_context(), loop.create_future())
        self._asked.append(asked)
        if self._led:
            try:
                given = await asked.answer
            except asyncio.CancelledError:
                answer = asked.answer
                if answer.done() and not answer.cancelled() and answer.exception() is None and answer.result() is _LEAD:
                    self._hand_on_the_lead()  # the lead came with the cancellation: the next caller has it
                raise
            if given is not _LEAD:
                return cast(T, given)
            asked.answer = loop.create_future()  # its own answer, which it commits now
        self._led = True
        try:
            while not asked.answer.done():
                await self._commit_the_first()
        finally:
            if not asked.answer.done():
                asked.answer.cancel()  # the leader was cancelled: its work is left out
            self._hand_on_the_lead()
        return cast(T, asked.answer.result())

    async def _commit_the_first(self) -> None:
        """Commit the first work asked for, together or each alone (that of a caller gone before it was taken is
        left out; taken, it is written all the same). They leave the queue once answered: cancelled meanwhile, the
        next leader commits them."""
        first = self._asked[: self._most]
        taken = [asked for asked in first if not asked.answer.done()]
        if len(taken) < 2 or not await self._together(taken):
            for asked in taken:
                await self._alone(asked)
        del self._asked[: len(first)]

    def _hand_on_the_lead(self) -> None:
        while self._asked and self._asked[0].answer.done():
            del self._asked[0]
        if self._asked:
            self._asked[0].answer.set_result(_LEAD)  # it leads now; it is answered when it commits its own
        else:
            self._led = False

    async def _together(self, taken: list[_Asked]) -> bool:
        """Run the work taken in one transaction. False when a work raised (nothing committed, nobody answered: each
        is run again alone); when the transaction failed otherwise (the database), each caller gets that error."""
        given: list[Any] = []
        committed = False

        def commits() -> None:
            nonlocal committed
            committed = True

        try:
            async with self._transactions.batch():
                async with self._transactions.begin() as first:
                    first.after_commit(commits)  # first of the batch's callbacks: set once it committed
                for asked in taken:
                    given.append(await self._worked(asked))
        except Exception as exc:  # noqa: BLE001 - sorted out below: each caller is answered one way or another
            if len(given) < len(taken):
                return False  # a work raised
            if not committed:
                for asked in taken:
                    _answer(asked, exception=exc)
                return True
            log.warning("work committed together, then %s: %s", type(exc).__name__, exc)
        for asked, answer in zip(taken, given, strict=True):
            _answer(asked, answer)
        self.together += len(taken)
        return True

    async def _alone(self, asked: _Asked) -> None:
        if asked.answer.done():  # its caller went away
            return
        try:
            answer = await self._worked(asked)
        except Exception as exc:  # noqa: BLE001 - the caller's to handle, as if it had run the work itself
            _answer(asked, exception=exc)
            return
        _answer(asked, answer)

    async def _worked(self, asked: _Asked) -> Any:
        """What the work gave in a transaction of its own (within a batch, part of it), as its caller would run it."""
        with _as_in(asked.context):
            async with self._transactions.begin() as transaction:
                return await asked.work(transaction)


def _answer(asked: _Asked, answer: Any = None, *, exception: BaseException | None = None) -> None:
    if asked.answer.done():
        return
    if exception is None:
        asked.answer.set_result(answer)
    else:
        asked.answer.set_exception(exception)


@contextmanager
def _as_in(context: contextvars.Context) -> Iterator[None]:
    """The context variables of `context` set here for the block (but the batch the block's transactions join)."""
    tokens = [(variable, variable.set(value)) for variable, value in context.items() if variable is not in_batch]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)
