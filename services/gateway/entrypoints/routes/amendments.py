"""/v1/declarations/{id}: a declarant amends or cancels its declaration before release, corrects it after."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response

from services.contract.database import reading
from services.contract.logs import correlation_id
from services.contract.outbox import Transaction
from services.gateway.domain.callers import Caller, Role
from services.gateway.entrypoints.bodies import read_declaration, request_body
from services.gateway.entrypoints.deps import READERS, GatewayDep, allow, outbox_has_room
from services.gateway.entrypoints.examples import AMENDMENT_EXAMPLE, AMENDMENT_XML_EXAMPLE, CORRECTION_EXAMPLE
from services.gateway.entrypoints.idempotent import Answer, IdempotencyKey, answer_once
from services.gateway.entrypoints.routes.declarations import BODY_PROBLEMS, PROBLEMS, ULID_PATH
from services.gateway.entrypoints.schemas import (
    CancellationCreate,
    CorrectionCreate,
    CorrectionRead,
    DeclarationRead,
    DeclarationVersionRead,
)
from services.gateway.entrypoints.views import correction_view, declaration_view
from services.gateway.service_layer import amendments, declarations

router = APIRouter(prefix="/v1/declarations", tags=["declarations"])
CANCELLATION_EXAMPLE = {"reason": "The goods were not shipped"}


@router.post(
    "/{declaration_id}/amendments",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=DeclarationRead,
    openapi_extra=request_body(
        "Declaration",
        {"fewer roses": AMENDMENT_EXAMPLE},
        "A WCO Data Model 3.x declaration, whole, with FunctionCode 4 (change) or 5 (replace)",
        {"fewer roses": AMENDMENT_XML_EXAMPLE},
    ),
    responses={200: {"model": DeclarationRead, "description": "The body equals the current version"}, **BODY_PROBLEMS},
    summary="Amend a declaration before release",
)
async def amend_declaration(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.TRADER))],
    declaration_id: Annotated[str, ULID_PATH],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Lodge the whole declaration again, as JSON or WCO DM XML, with function code 4 or 5 and the same LRN: it
    becomes the next version, the routing is worked out again, and every required agency decides afresh
    (decisions on earlier versions no longer count). Refused (409) once the declaration is released or
    cancelled. A body equal to the current version changes nothing (200)."""
    declaration = await read_declaration(request)
    now = context.clock()

    async def lodge(transaction: Transaction) -> Answer:
        row, created = await amendments.amend(
            transaction,
            declaration_id=declaration_id,
            declaration=declaration,
            caller=who,
            routing=context.routing,
            correlation_id=correlation_id.get() or "",
            now=now,
            source=context.source,
        )
        view = await declaration_view(transaction.connection, row)
        return (201 if created else 200), view, f"/v1/declarations/{row.id}/versions/{row.version}"

    return await answer_once(
        context,
        request,
        caller=who,
        key=idempotency_key,
        body=declaration,
        now=now,
        answer=lodge,
    )


@router.post(
    "/{declaration_id}/cancellation",
    status_code=200,
    dependencies=[Depends(outbox_has_room)],
    response_model=DeclarationRead,
    responses=PROBLEMS,
    summary="Cancel a declaration before release",
)
async def cancel_declaration(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.TRADER))],
    declaration_id: Annotated[str, ULID_PATH],
    cancellation: Annotated[
        CancellationCreate, Body(openapi_examples={"not shipped": {"value": CANCELLATION_EXAMPLE}})
    ],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Withdraw a declaration that is not released, with the reason: the single-window status becomes
    `cancelled` and agencies stop acting on it. Cancelling a cancelled declaration changes nothing; released
    goods are not cancelled (409): record a post-clearance correction instead."""
    now = context.clock()

    async def withdraw(transaction: Transaction) -> Answer:
        row, _ = await amendments.cancel(
            transaction,
            declaration_id=declaration_id,
            reason=cancellation.reason,
            caller=who,
            correlation_id=correlation_id.get() or "",
            now=now,
            source=context.source,
        )
        return 200, await declaration_view(transaction.connection, row), f"/v1/declarations/{row.id}"

    return await answer_once(
        context,
        request,
        caller=who,
        key=idempotency_key,
        body=cancellation,
        now=now,
        answer=withdraw,
    )


@router.post(
    "/{declaration_id}/corrections",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=CorrectionRead,
    responses={200: {"model": CorrectionRead, "description": "This correction was recorded before"}, **PROBLEMS},
    summary="Correct a released declaration (post-clearance)",
)
async def correct_declaration(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.TRADER))],
    declaration_id: Annotated[str, ULID_PATH],
    correction: Annotated[CorrectionCreate, Body(openapi_examples={"freight left out": {"value": CORRECTION_EXAMPLE}})],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """After release, the declaration is corrected, not amended: the correction (the whole declaration as it
    should have been, function code 4 or 5, and the reason) is recorded beside the released version, which
    stands. Customs assesses the difference in duties; it appears in `assessment` and on the timeline. The
    same corrected body again returns the first record (200). Refused (409) before release."""
    now = context.clock()

    async def record(transaction: Transaction) -> Answer:
        row, created = await amendments.correct(
            transaction,
            declaration_id=declaration_id,
            declaration=correction.declaration,
            reason=correction.reason,
            caller=who,
            correlation_id=correlation_id.get() or "",
            now=now,
            source=context.source,
        )
        location = f"/v1/declarations/{declaration_id}/corrections/{row.id}"
        return (201 if created else 200), correction_view(row), location

    return await answer_once(
        context,
        request,
        caller=who,
        key=idempotency_key,
        body=correction,
        now=now,
        answer=record,
    )


@router.get(
    "/{declaration_id}/versions/{version}",
    response_model=DeclarationVersionRead,
    responses=PROBLEMS,
    summary="Get one version of a declaration",
)
async def get_version(
    context: GatewayDep,
    who: Annotated[Caller, Depends(READERS)],
    declaration_id: Annotated[str, ULID_PATH],
    version: Annotated[int, Path(ge=1, le=10_000, description="1 for the declaration as first lodged")],
) -> DeclarationVersionRead:
    """The declaration as it stood in that version, and what changed from the version before."""
    async with reading(context.runtime.engine) as connection:
        row = await declarations.get_version(connection, declaration_id=declaration_id, version=version, caller=who)
    return DeclarationVersionRead.model_validate(
        {"version": row.version, "changed": row.changed, "lodged_at": row.lodged_at, "declaration": row.body}
    )
