"""/v1/certificates: NPPOs deliver phytosanitary certificates; traders and officers read them."""

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from services.contract.certificate import Certificate
from services.contract.database import reading
from services.contract.logs import correlation_id
from services.contract.outbox import Transaction
from services.gateway.bootstrap import Gateway
from services.gateway.domain.callers import Caller, Grant, Role
from services.gateway.domain.errors import NotFound
from services.gateway.entrypoints.bodies import read_certificate, request_body
from services.gateway.entrypoints.deps import GatewayDep, allow, outbox_has_room
from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE, CERTIFICATE_XML_EXAMPLE
from services.gateway.entrypoints.idempotent import Answer, IdempotencyKey, answer_once
from services.gateway.entrypoints.routes.declarations import BODY_PROBLEMS, PROBLEMS
from services.gateway.entrypoints.schemas import ULID_PATTERN, CertificateRead
from services.gateway.entrypoints.views import certificate_view
from services.gateway.service_layer import certificates

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])
CERTIFICATE_READERS = allow(Role.NPPO, Role.OFFICER, Role.TRADER, grants=(Grant.TRADE_READ,))
"""NPPOs read their own country's certificates, officers all, traders those issued for the consignment of a declaration
of theirs that cites them (its importer named as the consignee)."""
CERTIFICATE_ID = Path(pattern=ULID_PATTERN, description="Certificate id (ULID)")


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(outbox_has_room)],
    response_model=CertificateRead,
    openapi_extra=request_body(
        "Certificate",
        {"cut_flowers": CERTIFICATE_EXAMPLE},
        "UN/CEFACT SPS certificate XML: SPSCertificate, Hub Envelope or ePhytoEnvelope, optionally in a SOAP body",
        {"cut flowers": CERTIFICATE_XML_EXAMPLE},
    ),
    responses={200: {"model": CertificateRead, "description": "A redelivery of a stored certificate"}, **BODY_PROBLEMS},
    summary="Deliver an ePhyto certificate",
)
async def submit_certificate(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(allow(Role.NPPO))],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Only the issuing country's NPPO (or the Hub acting for it) may deliver. A redelivery (same Hub delivery
    number, or same content) returns the stored certificate (200); another content under the same number is 409.
    The body is JSON, or UN/CEFACT SPS XML as the ePhyto Hub delivers it: a bare SPSCertificate, an Envelope
    whose Content holds it, or an ePhytoEnvelope, optionally inside a SOAP body."""
    certificate, document = await read_certificate(request)
    now = context.clock()
    return await answer_once(
        context,
        request,
        caller=who,
        key=idempotency_key,
        body=certificate,
        now=now,
        answer=partial(deliver, context=context, certificate=certificate, document=document, caller=who, now=now),
    )


async def deliver(
    transaction: Transaction,
    *,
    context: Gateway,
    certificate: Certificate,
    document: bytes | None,
    caller: Caller,
    now: datetime,
) -> Answer:
    """Receive `certificate` in `transaction`: 201 and its view; 200 and the stored one's for a redelivery (the
    route's answer, and the fast path's: entrypoints/fast_lodging.py)."""
    row, created = await certificates.receive(
        transaction,
        certificate=certificate,
        caller=caller,
        correlation_id=correlation_id.get() or "",
        now=now,
        source=context.source,
        document=document,
    )
    view = certificate_view(row, certificate) if created else certificate_view(row)
    return (201 if created else 200), view, f"/v1/certificates/{row.id}"


@router.get("/{certificate_id}", response_model=CertificateRead, responses=PROBLEMS, summary="Get a certificate")
async def get_certificate(
    context: GatewayDep,
    who: Annotated[Caller, Depends(CERTIFICATE_READERS)],
    certificate_id: Annotated[str, CERTIFICATE_ID],
) -> CertificateRead:
    """An NPPO reads its own country's certificates, an officer all. A trader reads a certificate when one of its
    declarations cites it for the consignment it was issued for: the declaration names its importer as the
    certificate's consignee (case, punctuation and legal form aside) and states no other country of export than the
    issuing country. Any other certificate is 404, whether or not it exists."""
    async with reading(context.runtime.engine) as connection:
        row = await certificates.get(connection, certificate_id=certificate_id, caller=who)
    return certificate_view(row)


@router.get(
    "/{certificate_id}/document",
    response_class=Response,
    responses={
        200: {"content": {"application/xml": {}}, "description": "The certificate XML as delivered"},
        **PROBLEMS,
    },
    summary="Get a certificate's XML document",
)
async def get_certificate_document(
    context: GatewayDep,
    who: Annotated[Caller, Depends(CERTIFICATE_READERS)],
    certificate_id: Annotated[str, CERTIFICATE_ID],
) -> Response:
    """The SPSCertificate XML exactly as the NPPO or the Hub delivered it (404 for a certificate sent as JSON)."""
    async with reading(context.runtime.engine) as connection:
        row = await certificates.get(connection, certificate_id=certificate_id, caller=who)
    if row.document is None:
        raise NotFound(f"certificate {certificate_id} was delivered as JSON: there is no XML document")
    return Response(row.document, media_type="application/xml")
