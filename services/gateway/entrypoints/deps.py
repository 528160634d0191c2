"""Dependencies the routes inject: the gateway context and the authenticated caller."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.errors import Overloaded
from services.gateway.service_layer import api_keys

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key")


def gateway(request: Request) -> Gateway:
    context: Gateway = request.app.state.gateway
    return context


GatewayDep = Annotated[Gateway, Depends(gateway)]


async def caller(context: GatewayDep, key: Annotated[str | None, Security(_api_key)]) -> Caller:
    if not key:
        raise HTTPException(401, "an X-API-Key header is required", headers={"WWW-Authenticate": "ApiKey"})
    async with context.runtime.engine.connect() as connection:
        found = await api_keys.authenticate(connection, key)
    if found is None:
        raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "ApiKey"})
    return found


async def outbox_has_room(context: GatewayDep) -> None:
    """Back-pressure: refuse new submissions while the outbox holds more than its bound."""
    backlog = await context.runtime.relay.recent_backlog()
    if backlog >= context.settings.outbox_max_backlog:
        raise Overloaded(
            f"{backlog} accepted submissions are waiting to be published (bound "
            f"{context.settings.outbox_max_backlog}); retry later",
            retry_after_seconds=5,
        )


def role(*allowed: Role) -> Callable[[Caller], Coroutine[Any, Any, Caller]]:
    """A dependency admitting only callers with one of these roles."""

    async def _check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if who.role not in allowed:
            raise HTTPException(403, f"this operation needs the role {' or '.join(allowed)}; your key has {who.role}")
        return who

    return _check
