"""/v1/certificates: NPPOs deliver phytosanitary certificates; traders and officers read them."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse

from services.contract.certificate import Certificate
from services.contract.logs import correlation_id
from services.gateway.domain.callers import Caller, Role
from services.gateway.entrypoints.deps import GatewayDep, caller, outbox_has_room, role
from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE
from services.gateway.entrypoints.idempotent import Answer, IdempotencyKey, answer_once
from services.gateway.entrypoints.routes.declarations import PROBLEMS
from services.gateway.entrypoints.schemas import CertificateRead
from services.gateway.entrypoints.views import certificate_view
from services.gateway.service_layer import certificates

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=CertificateRead,
    responses={200: {"model": CertificateRead, "description": "A redelivery of a stored certificate"}, **PROBLEMS},
    summary="Deliver an ePhyto certificate",
)
async def submit_certificate(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(role(Role.NPPO))],
    certificate: Annotated[Certificate, Body(openapi_examples={"cut_flowers": {"value": CERTIFICATE_EXAMPLE}})],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Only the issuing country's NPPO (or the Hub acting for it) may deliver. A redelivery (same Hub delivery
    number, or same content) returns the stored certificate (200); another content under the same number is 409."""
    now = context.clock()

    async def receive() -> Answer:
        row, created = await certificates.receive(
            transaction,
            certificate=certificate,
            caller=who,
            correlation_id=correlation_id.get() or "",
            now=now,
            source=context.source,
        )
        return (201 if created else 200), certificate_view(row), f"/v1/certificates/{row.id}"

    async with context.runtime.transactions.begin() as transaction:
        return await answer_once(
            transaction,
            caller=who,
            key=idempotency_key,
            request_path=request.url.path,
            canonical_body=certificate.model_dump_json(),
            now=now,
            answer=receive,
        )


@router.get("/{certificate_id}", response_model=CertificateRead, responses=PROBLEMS, summary="Get a certificate")
async def get_certificate(
    context: GatewayDep,
    who: Annotated[Caller, Depends(caller)],
    certificate_id: Annotated[str, Path(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")],
) -> CertificateRead:
    async with context.runtime.engine.connect() as connection:
        row = await certificates.get(connection, certificate_id=certificate_id, caller=who)
    return certificate_view(row)
