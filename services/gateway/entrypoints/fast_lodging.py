"""The fast path for the gateway's commonest request: a trader lodging a new declaration as JSON.

FastAPI's request path (routing, dependencies, the idempotency wrapper) costs a fifth to a third of such a
submission's CPU (`python -m bench.stack_cost`). This ASGI middleware takes the request before the router, and
answers it itself when nothing about it is out of the ordinary: a key the route's own gate admits (a trader's), in
force and within its rate, room in the outbox, a body the contract's model accepts, no Idempotency-Key, tracing
off. It lodges the declaration through the same service layer the route calls (`declarations.submit`, in an outbox
transaction with its audit record) and answers what the route answers.

Anything else goes on to the route, the body replayed as it came: a missing or unknown key, another role, a body
that does not validate, XML, an Idempotency-Key, a full outbox, a rate limit reached, an LRN used before or a
database error (the fast path's transaction rolled back). So every refusal, and every answer but the ordinary one,
is the route's own.
"""

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.contract.declaration import Declaration
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Caller
from services.gateway.domain.errors import GatewayError
from services.gateway.entrypoints.bodies import JSON_TYPES, media_type
from services.gateway.entrypoints.deps import act_as, gate_of, key_holder, outbox_has_room
from services.gateway.entrypoints.routes.declarations import lodge
from services.gateway.service_layer import api_keys

log = logging.getLogger(__name__)
PATH = "/v1/declarations"
Answer = tuple[int, bytes, str]  # status, body, Location
_HANDED_ON = (GatewayError, DBAPIError, OSError)
"""What the route answers itself: a refusal (4xx), and a database that failed or cannot be reached (503, or 500)."""


@dataclass
class LaneCounts:
    """Submissions the fast path answered (`taken`), and those it left to the route (`passed`)."""

    taken: int = 0
    passed: int = 0


class FastLodging:
    """Answers the ordinary `POST /v1/declarations` itself; passes every other request to `app` (see the module)."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway, route: APIRoute, counts: LaneCounts) -> None:
        self.app = app
        self._gateway = gateway
        self._matched = _Matched(PATH)  # left in the scope, as the router would: metrics and spans are named after it
        gate = gate_of(route.dependant)
        if gate is None:
            raise LookupError(f"POST {PATH} has no gate: the fast path would let anyone lodge")
        self._gate = gate
        self._counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._may_take(scope):
            await self.app(scope, receive, send)
            return
        body, messages = await _body(receive)
        answered = None if body is None else await self._lodge(scope, body)
        if answered is None:
            self._counts.passed += 1
            await self.app(scope, _replaying(messages, receive), send)
            return
        self._counts.taken += 1
        scope["route"] = self._matched
        status, content, location = answered
        headers = [
            (b"content-length", str(len(content)).encode()),
            (b"content-type", b"application/json"),
            (b"location", location.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _may_take(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            return False
        if self._gateway.runtime.tracing.enabled:  # each request then has a span the route's middleware opens
            return False
        request = Request(scope)
        return media_type(request) in JSON_TYPES and "idempotency-key" not in request.headers

    async def _lodge(self, scope: Scope, body: bytes) -> Answer | None:
        """The answer to an ordinary submission, or None to leave the request to the route: then nothing was
        written (a refusal or a database error rolled the transaction back), and the route answers as always."""
        try:
            return await self._lodged(scope, body)
        except _HANDED_ON as refused:
            log.debug("fast lodging leaves the request to the route (%s: %s)", type(refused).__name__, refused)
            return None

    async def _lodged(self, scope: Scope, body: bytes) -> Answer | None:
        context, key = self._gateway, Request(scope).headers.get("x-api-key", "")
        if not key:
            return None
        who = await key_holder(context, key)
        if who is None or not self._gate.admits(who):
            return None
        await outbox_has_room(context)  # Overloaded when full: handed on, and the route answers 503
        try:
            declaration = Declaration.model_validate(json.loads(body), extra="forbid")
        except (ValueError, RecursionError):  # a ValidationError is a ValueError; the route says what is wrong
            return None
        hashed = api_keys.hash_key(key)
        if context.rate_limits.take(hashed, time.monotonic()) > 0:
            return None
        try:
            return await self._submitted(declaration, who)
        except _HANDED_ON:
            context.rate_limits.give_back(hashed)  # the route takes the request's token
            raise

    async def _submitted(self, declaration: Declaration, who: Caller) -> Answer:
        context = self._gateway
        act_as(who)
        async with context.runtime.transactions.begin() as transaction:
            status, view, location = await lodge(
                transaction, context=context, declaration=declaration, caller=who, now=context.clock()
            )
        return status, view.model_dump_json().encode(), location


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


def route_of(routes: list[BaseRoute]) -> APIRoute:
    """The route the fast path stands in for."""
    for route in iter_route_contexts(routes):
        if route.path_format == PATH and "POST" in (route.methods or ()) and isinstance(route.original_route, APIRoute):
            return route.original_route
    raise LookupError(f"no POST {PATH} route to stand in for")


@dataclass(frozen=True)
class _Matched:
    """What a router leaves in the scope for the route it matched, as far as the metrics and spans read it."""

    path: str
