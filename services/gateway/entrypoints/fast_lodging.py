"""The fast paths for the gateway's commonest requests: a trader lodging a new declaration as JSON, and an NPPO
delivering a certificate as UN/CEFACT SPS XML (or JSON).

FastAPI's request path (routing, dependencies, the idempotency wrapper) costs a fifth to a third of such a
submission's CPU (`python -m bench.stack_cost`). This ASGI middleware takes the request before the router, and
answers it itself when nothing about it is out of the ordinary: a key the route's own gate admits (a trader's, an
NPPO's), in force and within its rate, room in the outbox, a body the route reads as it would (`bodies`), no
Idempotency-Key, tracing off. It submits through the function the route calls (`declarations.lodge`,
`certificates.deliver`), in an outbox transaction with its audit record, and answers what the route answers. The
key is looked up first, and the body read only once the key is admitted. On SQLite the write transaction holds the
writers' turn for its statements only, and commits with those of the submissions that came meanwhile (`GroupCommit`,
a few at a time).

Anything else goes on to the route, the body replayed as it came: a missing or unknown key, another role, a body
that does not validate, a declaration in XML, an XML certificate larger than is read on the event loop, an
Idempotency-Key, a full outbox, a rate limit reached, an LRN used
before with another body, a certificate of another country's NPPO or a database error (the fast path's transaction
rolled back). So every refusal, and every answer but the ordinary one, is the route's own.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.contract.database import reading
from services.contract.declaration import Declaration
from services.contract.dumped import json_of
from services.contract.group_commit import GroupCommit
from services.contract.outbox import Transaction
from services.gateway.adapters.safe_xml import ON_THE_LOOP_BYTES, XmlRefused
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Caller
from services.gateway.domain.errors import GatewayError
from services.gateway.entrypoints.bodies import (
    JSON_TYPES,
    SOAP_TYPES,
    XML_TYPES,
    certificate_from,
    from_json,
    media_type,
)
from services.gateway.entrypoints.deps import Gate, act_as, gate_of, outbox_has_room
from services.gateway.entrypoints.idempotent import Answer
from services.gateway.entrypoints.routes.certificates import deliver
from services.gateway.entrypoints.routes.declarations import lodge
from services.gateway.service_layer import api_keys

log = logging.getLogger(__name__)
Written = tuple[int, bytes, str]  # status, body, Location


class _LeftToTheRoute(Exception):
    """A key the route's gate refuses, or one over its rate: the route answers."""


_HANDED_ON = (GatewayError, DBAPIError, OSError, RequestValidationError, XmlRefused, _LeftToTheRoute)
"""What the route answers itself: a refusal (4xx), a database that failed or cannot be reached (503, or 500), and a
key its gate does not admit or that is over its rate."""


@dataclass
class LaneCounts:
    """Submissions the fast path answered (`taken`), and those it left to the route (`passed`)."""

    taken: int = 0
    passed: int = 0


Read = Callable[[bytes, str, Gateway], Awaitable[dict[str, Any]]]
"""A body of a media type, read as the route reads it: the keyword arguments of the lane's `submit`."""


@dataclass
class Lane:
    """A route the fast path stands in for: its path, the media types it takes there, how a body is read, and the
    function the route submits through (`transaction`, `context`, `caller`, `now`, and what `read` gave).

    A body is read once its key is admitted (on PostgreSQL inside the submission's write transaction, on SQLite before
    it): `on_the_loop` says which bodies `read` reads without waiting for a worker thread (the others are the
    route's)."""

    path: str
    media_types: tuple[str, ...]
    read: Read
    submit: Callable[..., Awaitable[Answer]]
    on_the_loop: Callable[[bytes, str], bool] = lambda _body, _kind: True
    counts: LaneCounts = field(default_factory=LaneCounts)


async def _declaration(body: bytes, kind: str, context: Gateway) -> dict[str, Any]:
    return {"declaration": from_json(body, Declaration)}


async def _certificate(body: bytes, kind: str, context: Gateway) -> dict[str, Any]:
    certificate, document = await certificate_from(body, kind, context.settings.max_body_bytes)
    return {"certificate": certificate, "document": document}


def _certificate_on_the_loop(body: bytes, kind: str) -> bool:
    return kind in JSON_TYPES or len(body) <= ON_THE_LOOP_BYTES  # larger XML is read in a worker thread


def lanes() -> list[Lane]:
    """The routes with a fast path, each with counts of its own."""
    return [
        Lane("/v1/declarations", JSON_TYPES, _declaration, lodge),
        Lane("/v1/certificates", JSON_TYPES + XML_TYPES + SOAP_TYPES, _certificate, deliver, _certificate_on_the_loop),
    ]


class FastLodging:
    """Answers the ordinary POST of each lane itself; passes every other request to `app` (see the module)."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway, lanes: list[Lane], routes: list[BaseRoute]) -> None:
        self.app = app
        self._gateway = gateway
        self._group_commit = GroupCommit(gateway.runtime.transactions)
        self._lanes = {lane.path: _Standing(lane, _gate(routes, lane.path), _Matched(lane.path)) for lane in lanes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        taken = self._may_take(scope)
        if taken is None:
            await self.app(scope, receive, send)
            return
        standing, kind = taken
        lane = standing.lane
        body, messages = await _body(receive)
        answered = None if body is None else await self._lodge(scope, body, standing, kind)
        if answered is None:
            lane.counts.passed += 1
            await self.app(scope, _replaying(messages, receive), send)
            return
        lane.counts.taken += 1
        scope["route"] = standing.matched  # as the router would: metrics and spans are named after it
        status, content, location = answered
        headers = [
            (b"content-length", str(len(content)).encode()),
            (b"content-type", b"application/json"),
            (b"location", location.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _may_take(self, scope: Scope) -> "tuple[_Standing, str] | None":
        """The lane of an ordinary submission, and its media type; None for a request the route answers."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        standing = self._lanes.get(scope["path"])
        if standing is None or self._gateway.runtime.tracing.enabled:  # with tracing, each request has a span the
            return None  # route's middleware opens
        request = Request(scope)
        kind = media_type(request)
        if kind not in standing.lane.media_types or "idempotency-key" in request.headers:
            return None
        return standing, kind

    async def _lodge(self, scope: Scope, body: bytes, standing: "_Standing", kind: str) -> Written | None:
        """The answer to an ordinary submission, or None to leave the request to the route: then nothing was
        written (a refusal or a database error rolled the transaction back), and the route answers as always."""
        try:
            return await self._lodged(scope, body, standing, kind)
        except _HANDED_ON as refused:
            log.debug("fast lodging leaves the request to the route (%s: %s)", type(refused).__name__, refused)
            return None

    async def _lodged(self, scope: Scope, body: bytes, standing: "_Standing", kind: str) -> Written | None:
        key = Request(scope).headers.get("x-api-key", "")
        if not key or not standing.lane.on_the_loop(body, kind):
            return None
        await outbox_has_room(self._gateway)  # Overloaded when full: handed on, and the route answers 503
        return await self._submitted(standing, key, body, kind)

    async def _submitted(self, standing: "_Standing", key: str, body: bytes, kind: str) -> Written:
        """Submit in a write transaction, the key looked up first: a key the route's gate would not admit, or over its
        rate, is left to the route before the body is read (nothing written), and the route answers and takes the
        request's token.

        On SQLite, one writer at a time, the key is looked up in a reading transaction and the body read before the
        write transaction, which holds the writers' turn for its statements only and commits with those of the
        submissions that came meanwhile (`GroupCommit`). On PostgreSQL all of it is one transaction (a reading one
        of its own cost a connection and two round trips more)."""
        context, hashed, taken = self._gateway, api_keys.hash_key(key), False
        transactions = context.runtime.transactions
        try:
            if transactions.one_writer:
                async with reading(context.runtime.engine) as connection:
                    who = await self._admitted(connection, standing, key, hashed)
                taken = True
                status, view, location = await self._group_commit.run(await self._submission(standing, who, body, kind))
            else:
                async with transactions.begin() as transaction:
                    who = await self._admitted(transaction.connection, standing, key, hashed)
                    taken = True
                    submit = await self._submission(standing, who, body, kind)
                    status, view, location = await submit(transaction)
        except _HANDED_ON:
            if taken:
                context.rate_limits.give_back(hashed)
            raise
        return status, json_of(view), location  # the declaration's or certificate's JSON made when it was stored

    async def _admitted(self, connection: AsyncConnection, standing: "_Standing", key: str, hashed: str) -> Caller:
        """The caller of `key` when the lane's gate admits it within its rate (a token taken); else handed on."""
        who = await api_keys.authenticate(connection, key)
        if who is None or not standing.gate.admits(who) or self._gateway.rate_limits.take(hashed, time.monotonic()):
            raise _LeftToTheRoute
        return who

    async def _submission(
        self, standing: "_Standing", who: Caller, body: bytes, kind: str
    ) -> Callable[[Transaction], Awaitable[Answer]]:
        """The body read as the route reads it (one it refuses is handed on, and it says why), and what submits it
        in a transaction, as `who`."""
        read = await standing.lane.read(body, kind, self._gateway)
        act_as(who)
        return partial(standing.lane.submit, context=self._gateway, caller=who, now=self._gateway.clock(), **read)


async def _body(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The request's body, and the messages it came in (to replay them); None for a body cut short by a
    disconnect."""
    messages, parts = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts), messages


def _replaying(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A `receive` that gives the messages already read again, then the server's."""
    waiting = list(messages)

    async def replay() -> Message:
        if waiting:
            return waiting.pop(0)
        return await receive()

    return replay


def _gate(routes: list[BaseRoute], path: str) -> Gate:
    """The gate of the POST route at `path`, which the fast path stands in for."""
    for route in iter_route_contexts(routes):
        if route.path_format == path and "POST" in (route.methods or ()) and isinstance(route.original_route, APIRoute):
            gate = gate_of(route.original_route.dependant)
            if gate is None:
                raise LookupError(f"POST {path} has no gate: the fast path would let anyone submit")
            return gate
    raise LookupError(f"no POST {path} route to stand in for")


@dataclass(frozen=True)
class _Matched:
    """What a router leaves in the scope for the route it matched, as far as the metrics and spans read it."""

    path: str


@dataclass(frozen=True)
class _Standing:
    """A lane and what the fast path takes from its route: the gate it admits callers by, and the route it leaves in
    the scope."""

    lane: Lane
    gate: Gate
    matched: _Matched
