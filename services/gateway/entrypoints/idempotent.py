"""Answering a POST at most once per Idempotency-Key, in the transaction that does the work."""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from services.contract.outbox import Transaction
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Caller
from services.gateway.service_layer import idempotency
from services.gateway.service_layer.idempotency import StoredAnswer

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Optional. The same key with the same body returns the first answer; with another body, 409.",
    ),
]
Answer = tuple[int, BaseModel, str]  # status, body, Location


async def answer_once(
    context: Gateway,
    request: Request,
    *,
    caller: Caller,
    key: str | None,
    body: BaseModel,
    now: datetime,
    answer: Callable[[Transaction], Awaitable[Answer]],
) -> Response:
    """In one transaction: the stored answer when this key was seen with this request (path and parsed body);
    else `answer`'s, kept under the key."""
    hashed = idempotency.request_hash(request.url.path, body.model_dump_json()) if key is not None else ""
    async with context.runtime.transactions.begin() as transaction:
        if key is not None:
            stored = await idempotency.stored_answer(transaction.connection, caller, key, hashed)
            if stored is not None:
                return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})
        status, view, location = await answer(transaction)
        content = view.model_dump_json().encode()
        if key is not None:
            stored_answer = StoredAnswer(status, json.loads(content))
            await idempotency.remember(transaction.connection, caller, key, hashed, stored_answer, now)
    return Response(content, status_code=status, headers={"Location": location}, media_type="application/json")
