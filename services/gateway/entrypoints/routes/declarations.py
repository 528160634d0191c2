"""/v1/declarations: traders lodge declarations and follow their single-window decision."""

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.openapi.models import Example
from fastapi.responses import Response
from pydantic import AwareDatetime

from services.contract.database import reading
from services.contract.declaration import Amount, Declaration
from services.contract.events import ClearanceState, ClearanceStatus
from services.contract.logs import correlation_id
from services.contract.outbox import Transaction
from services.gateway.adapters.repository import DeclarationFilter
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Caller, Role
from services.gateway.entrypoints.bodies import read_declaration, request_body
from services.gateway.entrypoints.deps import READERS, GatewayDep, allow, outbox_has_room
from services.gateway.entrypoints.examples import DECLARATION_EXAMPLE, DECLARATION_XML_EXAMPLE
from services.gateway.entrypoints.idempotent import Answer, IdempotencyKey, answer_once
from services.gateway.entrypoints.schemas import (
    ULID_PATTERN,
    DeclarationPage,
    DeclarationRead,
    DeclarationSummary,
    InspectionCreate,
    InspectionRead,
    PaymentCreate,
    PaymentRead,
    Problem,
)
from services.gateway.entrypoints.views import declaration_view, lodged_view
from services.gateway.service_layer import controls, declarations
from services.gateway.service_layer.controls import PlantHealthFindings

router = APIRouter(prefix="/v1/declarations", tags=["declarations"])
ULID_PATH = Path(pattern=ULID_PATTERN, description="Declaration id (ULID)")
PROBLEMS: dict[int | str, dict[str, object]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (401, 403, 404, 409, 413, 422, 429, 503)
}
BODY_PROBLEMS: dict[int | str, dict[str, object]] = {
    **PROBLEMS,
    415: {"model": Problem, "content": {"application/problem+json": {}}},
}
"""For routes that read a JSON or an XML body themselves: a body of another media type is 415."""


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=DeclarationRead,
    openapi_extra=request_body(
        "Declaration",
        {"plants": DECLARATION_EXAMPLE},
        "A WCO Data Model 3.x declaration (MetaData or Declaration root)",
        {"plants": DECLARATION_XML_EXAMPLE},
    ),
    responses={
        200: {"model": DeclarationRead, "description": "The same declaration was lodged before"},
        **BODY_PROBLEMS,
    },
    summary="Lodge a declaration",
)
async def submit_declaration(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.TRADER))],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Lodge a declaration as its declarant, as JSON or as WCO Data Model XML (DEC-DMS). The same LRN with
    the same body returns the first one (200); with another body it is refused (409). The decision arrives
    asynchronously: GET it by id."""
    declaration = await read_declaration(request)
    now = context.clock()
    return await answer_once(
        context,
        request,
        caller=who,
        key=idempotency_key,
        body=declaration,
        now=now,
        answer=partial(lodge, context=context, declaration=declaration, caller=who, now=now),
    )


async def lodge(
    transaction: Transaction, *, context: Gateway, declaration: Declaration, caller: Caller, now: datetime
) -> Answer:
    """Lodge `declaration` in `transaction`: 201 and its view; 200 and the first one's for a resubmission (the
    route's answer, and the fast path's: entrypoints/fast_lodging.py)."""
    lodged = await declarations.submit(
        transaction,
        declaration=declaration,
        caller=caller,
        routing=context.routing,
        correlation_id=correlation_id.get() or "",
        now=now,
        source=context.source,
    )
    if lodged.created:
        return 201, lodged_view(lodged), f"/v1/declarations/{lodged.row.id}"
    view = await declaration_view(transaction.connection, lodged.row, lodged.declaration)
    return 200, view, f"/v1/declarations/{lodged.row.id}"


@router.get("/{declaration_id}", response_model=DeclarationRead, responses=PROBLEMS, summary="Get a declaration")
async def get_declaration(
    context: GatewayDep, who: Annotated[Caller, Depends(READERS)], declaration_id: Annotated[str, ULID_PATH]
) -> DeclarationRead:
    """The declaration, each agency's decisions, the single-window clearance and the timeline."""
    async with reading(context.runtime.engine) as connection:
        row = await declarations.get(connection, declaration_id=declaration_id, caller=who)
        return await declaration_view(connection, row)


@router.get("", response_model=DeclarationPage, responses=PROBLEMS, summary="List declarations")
async def list_declarations(
    context: GatewayDep,
    who: Annotated[Caller, Depends(READERS)],
    status: Annotated[ClearanceStatus | None, Query(description="Only declarations with this v1 status")] = None,
    state: Annotated[ClearanceState | None, Query(description="Only declarations in this clearance state")] = None,
    agency: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="Only declarations routed to this agency")
    ] = None,
    lrn: Annotated[str | None, Query(max_length=70, description="Only the declaration with this LRN")] = None,
    submitted_from: Annotated[AwareDatetime | None, Query(description="Lodged at or after (RFC 3339)")] = None,
    submitted_to: Annotated[AwareDatetime | None, Query(description="Lodged before (RFC 3339)")] = None,
    cursor: Annotated[str | None, Query(pattern=ULID_PATTERN, description="From next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
) -> DeclarationPage:
    """The declarations this key may see (a trader's own, as declarant or importer), newest first, a page at a
    time: follow `next_cursor` until it is null."""
    keep = DeclarationFilter(
        status=status.value if status else None,
        state=state.value if state else None,
        agency=agency,
        lrn=lrn,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
    )
    async with reading(context.runtime.engine) as connection:
        rows, next_cursor = await declarations.list_visible(
            connection, caller=who, keep=keep, cursor=cursor, limit=limit
        )
    return DeclarationPage(
        items=[
            DeclarationSummary(
                id=row.id,
                lrn=row.lrn,
                version=row.version,
                status=ClearanceStatus(row.status),
                state=ClearanceState(row.state),
                required_agencies=row.required_agencies,
                submitted_at=row.submitted_at,
                updated_at=row.updated_at,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


PAYMENT_EXAMPLE = {"amount": {"value": "1467.24", "currency": "GBP"}, "reference": "BANK-2026-000042"}
INSPECTION_EXAMPLE = {"result": "release", "findings": "Documents checked: consistent with the goods"}
INSPECTION_EXAMPLES: dict[str, Example] = {
    "release": {"summary": "Release the goods", "value": INSPECTION_EXAMPLE},
    "treatment_ordered": {
        "summary": "Plant health: pest found, treatment ordered (held)",
        "value": {
            "result": "seize",
            "findings": "Live larvae in 3 of 40 cartons",
            "pests_found": ["Thaumatotibia leucotreta"],
            "action": "treatment_ordered",
            "treatment": "Cold treatment: 20 days at or below -0.5 °C, under official supervision",
        },
    },
    "released_after_treatment": {
        "summary": "Plant health: release after the treatment",
        "value": {
            "result": "release",
            "findings": "Treatment records checked; no live larvae",
            "pests_found": ["Thaumatotibia leucotreta"],
            "treatment": "Cold treatment: 20 days at or below -0.5 °C",
        },
    },
    "destroyed": {
        "summary": "Plant health: destroyed (refused)",
        "value": {
            "result": "seize",
            "findings": "Bore holes and frass in the wooden pallets",
            "pests_found": ["Anoplophora glabripennis"],
            "action": "destroyed",
        },
    },
    "re_exported": {
        "summary": "Plant health: re-exported (refused)",
        "value": {"result": "seize", "findings": "Soil on the roots", "action": "re_exported"},
    },
    "refer": {
        "summary": "Refer to another agency",
        "value": {"result": "refer", "referred_to": "customs", "findings": "Undeclared bulbs"},
    },
}


@router.post(
    "/{declaration_id}/payments",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=PaymentRead,
    responses={200: {"model": PaymentRead, "description": "This payment was recorded before"}, **PROBLEMS},
    summary="Record a payment of the duties",
)
async def record_payment(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.TRADER))],
    declaration_id: Annotated[str, ULID_PATH],
    payment: Annotated[PaymentCreate, Body(openapi_examples={"duties": {"value": PAYMENT_EXAMPLE}})],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record that you paid what customs assessed (`decisions[].details.duties.total`): customs releases goods
    held only for want of payment (reason `DUTY_UNSECURED`) once the payments cover the amount. The same
    reference with the same amount returns the first record (200); with another amount, 409."""
    now = context.clock()

    async def record(transaction: Transaction) -> Answer:
        row, created = await controls.record_payment(
            transaction,
            declaration_id=declaration_id,
            caller=who,
            amount=payment.amount,
            reference=payment.reference,
            correlation_id=correlation_id.get() or "",
            now=now,
            source=context.source,
        )
        view = PaymentRead(
            id=row.id,
            declaration_id=row.declaration_id,
            amount=Amount(value=Decimal(row.amount), currency=row.currency),
            reference=row.reference,
            recorded_at=row.recorded_at,
        )
        return (201 if created else 200), view, f"/v1/declarations/{declaration_id}/payments/{row.id}"

    return await answer_once(
        context,
        request,
        caller=who,
        key=idempotency_key,
        body=payment,
        now=now,
        answer=record,
    )


@router.post(
    "/{declaration_id}/inspections",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=InspectionRead,
    responses=PROBLEMS,
    summary="Record an inspection result",
)
async def record_inspection(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.OFFICER))],
    declaration_id: Annotated[str, ULID_PATH],
    inspection: Annotated[InspectionCreate, Body(openapi_examples=INSPECTION_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """An officer records the result of a check for its own agency, on goods that agency holds: `release`,
    `seize` (the agency refuses the goods) or `refer` (to the agency in `referred_to`). The agency publishes
    a new decision; the single-window decision follows.

    Plant-health officers may add the pests they found (`pests_found`) and what they ordered (`action`): with
    `seize`, `treatment_ordered` (and the `treatment`) holds the goods until a later inspection records
    `release`; `destroyed` and `re_exported` refuse them. A release with pests found names the `treatment` the
    goods had. Another combination, or plant-health fields from another agency's officer, is a 422 naming the
    field."""
    now = context.clock()

    async def record(transaction: Transaction) -> Answer:
        row = await controls.record_inspection(
            transaction,
            declaration_id=declaration_id,
            caller=who,
            result=inspection.result,
            findings=inspection.findings,
            referred_to=inspection.referred_to,
            plant_health=PlantHealthFindings(tuple(inspection.pests_found), inspection.action, inspection.treatment),
            agencies=context.routing.agency_codes,
            correlation_id=correlation_id.get() or "",
            now=now,
            source=context.source,
        )
        view = InspectionRead.model_validate(row, from_attributes=True)
        return 201, view, f"/v1/declarations/{declaration_id}/inspections/{row.id}"

    return await answer_once(
        context,
        request,
        caller=who,
        key=idempotency_key,
        body=inspection,
        now=now,
        answer=record,
    )
