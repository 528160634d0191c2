"""POST /v1/declarations on a bare ASGI route calling the gateway's own service layer as the product's route does
(API key look-up, `declarations.submit` in an outbox transaction with its audit record, the 201's view); every
other request, and the lifespan, go to the product's FastAPI application. JSON bodies only; a measuring app, not
the product: its difference from the product is what FastAPI's request path costs."""

import orjson

from bench.stack_cost.asgi import Receive, Scope, Send, answer, api_key, body_of
from services.contract import logs
from services.contract.database import reading
from services.contract.declaration import Declaration
from services.gateway.bootstrap import bootstrap
from services.gateway.domain.callers import Role
from services.gateway.entrypoints.http import create_app
from services.gateway.entrypoints.views import lodged_view
from services.gateway.service_layer import api_keys, declarations
from services.gateway.service_layer.audit import acting
from services.gateway.settings import GatewaySettings

settings = GatewaySettings.load()
logs.configure(settings.service_name, settings.log_level)  # as the product's start does: its log lines cost too
gateway = bootstrap(settings)
product = create_app(gateway)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/v1/declarations":
        await product(scope, receive, send)
        return
    body = await body_of(receive)
    async with reading(gateway.runtime.engine) as connection:
        caller = await api_keys.authenticate(connection, api_key(scope))
    if caller is None or caller.role is not Role.TRADER:
        await answer(send, 401, b'{"detail":"a trader key is required"}')
        return
    acting.set(f"{caller.role}:{caller.subject}")
    declaration = Declaration.model_validate(orjson.loads(body), extra="forbid")
    async with gateway.runtime.transactions.begin() as transaction:
        lodged = await declarations.submit(
            transaction,
            declaration=declaration,
            caller=caller,
            routing=gateway.routing,
            correlation_id="",
            now=gateway.clock(),
            source=gateway.source,
        )
        view = lodged_view(lodged).model_dump_json().encode()
    await answer(send, 201, view, f"/v1/declarations/{lodged.row.id}")
