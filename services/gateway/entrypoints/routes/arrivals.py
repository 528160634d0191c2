"""/v1/declarations/{id}/arrival: carriers and terminals report the goods presented and follow their release."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.database import reading
from services.contract.logs import correlation_id
from services.contract.outbox import Transaction
from services.gateway.domain.callers import Caller, Role
from services.gateway.entrypoints.deps import READERS, GatewayDep, allow, outbox_has_room
from services.gateway.entrypoints.idempotent import Answer, IdempotencyKey, answer_once
from services.gateway.entrypoints.routes.declarations import PROBLEMS, ULID_PATH
from services.gateway.entrypoints.schemas import ArrivalCreate, ArrivalRead
from services.gateway.entrypoints.views import arrival_view
from services.gateway.service_layer import arrivals

router = APIRouter(prefix="/v1/declarations", tags=["arrivals"])
ARRIVAL_EXAMPLE = {"location": "GBDVR", "transport_reference": "P&O Pioneer 2026-11-23 08:15"}
ARRIVAL_READERS = allow(Role.CARRIER, *READERS.roles, grants=READERS.grants)
"""The carrier that reported the arrival, and those who read the declaration."""


@router.post(
    "/{declaration_id}/arrival",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=ArrivalRead,
    responses={200: {"model": ArrivalRead, "description": "This arrival was reported before"}, **PROBLEMS},
    summary="Report the goods presented at the border",
)
async def report_arrival(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.CARRIER))],
    declaration_id: Annotated[str, ULID_PATH],
    arrival: Annotated[ArrivalCreate, Body(openapi_examples={"ferry": {"value": ARRIVAL_EXAMPLE}})],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A carrier or terminal reports that the goods of a declaration (its id, which the trader gives them)
    arrived. The answer carries the single-window status: move the goods once it is `released`. Declarations
    are usually lodged before arrival, so the decision is often ready when the goods arrive. Reported once:
    the same report again returns the first (200); another location or transport, 409."""
    now = context.clock()

    async def record(transaction: Transaction) -> Answer:
        row, created = await arrivals.report(
            transaction,
            declaration_id=declaration_id,
            caller=who,
            location=arrival.location,
            transport_reference=arrival.transport_reference,
            arrived_at=arrival.arrived_at,
            correlation_id=correlation_id.get() or "",
            now=now,
            source=context.source,
        )
        view = await _arrival(transaction.connection, row.declaration_id, who)
        return (201 if created else 200), view, f"/v1/declarations/{declaration_id}/arrival"

    return await answer_once(context, request, caller=who, key=idempotency_key, body=arrival, now=now, answer=record)


@router.get("/{declaration_id}/arrival", response_model=ArrivalRead, responses=PROBLEMS, summary="Get an arrival")
async def get_arrival(
    context: GatewayDep,
    who: Annotated[Caller, Depends(ARRIVAL_READERS)],
    declaration_id: Annotated[str, ULID_PATH],
) -> ArrivalRead:
    """The arrival, the single-window status and the release times, for the carrier that reported it and for
    whoever may read the declaration. Carriers see no commercial detail of the declaration."""
    async with reading(context.runtime.engine) as connection:
        return await _arrival(connection, declaration_id, who)


async def _arrival(connection: AsyncConnection, declaration_id: str, who: Caller) -> ArrivalRead:
    reported, declaration = await arrivals.get(connection, declaration_id=declaration_id, caller=who)
    return await arrival_view(connection, reported, declaration)
