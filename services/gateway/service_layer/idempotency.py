"""Idempotency-Key: a POST repeated with the same key and body gets the first answer again."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.adapters.orm import idempotency_keys
from services.gateway.domain.callers import Caller
from services.gateway.domain.errors import Conflict


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]


def request_hash(path: str, canonical_body: str) -> str:
    return hashlib.sha256(f"{path}\n{canonical_body}".encode()).hexdigest()


def _caller(caller: Caller) -> str:
    return f"{caller.role.value}:{caller.subject}"


async def stored_answer(connection: AsyncConnection, caller: Caller, key: str, hashed: str) -> StoredAnswer | None:
    """The answer given before under this key, or None; the key reused for another request is a conflict."""
    query = select(idempotency_keys).where(idempotency_keys.c.caller == _caller(caller), idempotency_keys.c.key == key)
    row = (await connection.execute(query)).first()
    if row is None:
        return None
    if row.request_hash != hashed:
        raise Conflict(f"Idempotency-Key {key!r} was used for another request; use a new key for a new request")
    return StoredAnswer(row.status, row.body)


async def remember(
    connection: AsyncConnection, caller: Caller, key: str, hashed: str, answer: StoredAnswer, now: datetime
) -> None:
    """Keep the answer with the key, in the transaction that produced it."""
    try:
        async with connection.begin_nested():
            await connection.execute(
                insert(idempotency_keys).values(
                    caller=_caller(caller),
                    key=key,
                    request_hash=hashed,
                    status=answer.status,
                    body=answer.body,
                    created_at=now,
                )
            )
    except IntegrityError as exc:
        raise Conflict(
            f"a request with Idempotency-Key {key!r} was answered meanwhile; send it again to get that answer"
        ) from exc
