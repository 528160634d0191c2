"""Dependencies the routes inject: the gateway context and the authenticated caller."""

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyHeader

from services.contract.database import reading
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Caller, Grant, Role
from services.gateway.domain.errors import Overloaded, RateLimited
from services.gateway.service_layer import api_keys
from services.gateway.service_layer.audit import acting

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key")


async def gateway(request: Request) -> Gateway:
    """Async, though it awaits nothing: FastAPI would run a plain function in its thread pool, a thread round trip
    on every request."""
    context: Gateway = request.app.state.gateway
    return context


GatewayDep = Annotated[Gateway, Depends(gateway)]


async def caller(request: Request, context: GatewayDep, key: Annotated[str | None, Security(_api_key)]) -> Caller:
    if not key:
        raise HTTPException(401, "an X-API-Key header is required", headers={"WWW-Authenticate": "ApiKey"})
    found = await key_holder(context, key)
    if found is None:
        address = request.client.host if request.client else "unknown"
        wait = context.failed_keys.take(address, time.monotonic())
        if wait > 0:
            raise RateLimited(
                f"too many requests with unknown API keys from {address}; retry in {wait:.0f} s",
                retry_after_seconds=context.failed_keys.retry_after(wait),
            )
        raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "ApiKey"})
    wait = context.rate_limits.take(api_keys.hash_key(key), time.monotonic())
    if wait > 0:
        limit = context.settings.rate_limit_per_second
        raise RateLimited(
            f"this API key made more than {limit:g} requests per second; retry in {wait:.2f} s",
            retry_after_seconds=context.rate_limits.retry_after(wait),
        )
    return found


async def key_holder(context: Gateway, key: str) -> Caller | None:
    """Who holds `key`, if it is in force."""
    async with reading(context.runtime.engine) as connection:
        return await api_keys.authenticate(connection, key)


async def outbox_has_room(context: GatewayDep) -> None:
    """Back-pressure: refuse new submissions while the outbox holds more than its bound."""
    backlog = await context.runtime.relay.recent_backlog()
    if backlog >= context.settings.outbox_max_backlog:
        raise Overloaded(
            f"{backlog} accepted submissions are waiting to be published (bound "
            f"{context.settings.outbox_max_backlog}); retry later",
            retry_after_seconds=5,
        )


@dataclass(frozen=True)
class Gate:
    """A dependency admitting callers with one of `roles`, and operators holding one of `grants`.

    Every business route has one: the role-by-endpoint table (`access.py`) is read from them."""

    roles: tuple[Role, ...]
    grants: tuple[Grant, ...] = ()

    def admits(self, who: Caller) -> bool:
        return who.role in self.roles or (who.role is Role.OPERATOR and bool(who.grants.intersection(self.grants)))

    async def __call__(self, who: Annotated[Caller, Depends(caller)]) -> Caller:
        if self.admits(who):
            act_as(who)
            return who
        needed = " or ".join([*self.roles, *(f"operator with {grant}" for grant in self.grants)])
        raise HTTPException(403, f"this operation needs the role {needed}; your key has {who.role}")


def gate_of(dependant: Dependant) -> Gate | None:
    """The gate among a route's dependencies (found however deep), if it has one."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Gate):
            return dependency.call
        found = gate_of(dependency)
        if found is not None:
            return found
    return None


def act_as(who: Caller) -> None:
    """What the request does from now on is audited as `who`'s (see `audit.acting`)."""
    actor = f"{who.role}:{who.subject}" if who.subject else str(who.role)
    acting.set(f"{actor} ({who.label})"[:128] if who.label else actor)


def allow(*roles: Role, grants: tuple[Grant, ...] = ()) -> Gate:
    return Gate(roles, grants)


READERS = allow(Role.TRADER, Role.OFFICER, grants=(Grant.TRADE_READ,))
"""Who reads declarations: traders their own, officers and granted operators all."""
