"""Receiving and reading phytosanitary certificates."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from services.contract.certificate import Certificate
from services.contract.cloudevents import Envelope
from services.contract.events import CertificateReceived
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.errors import Conflict, Forbidden, NotFound
from services.gateway.service_layer.declarations import content_hash


def _delivered_content(certificate: Certificate) -> str:
    """The hash of what a certificate says, whichever Hub delivery brought it."""
    return content_hash(certificate.model_copy(update={"hub_delivery_number": None}))


def _redelivered(existing: Row[Any], certificate: Certificate, body_hash: str) -> Row[Any]:
    """The stored certificate when this is a redelivery: the same Hub delivery number, or the same content (the Hub
    gives a certificate sent again a new delivery number)."""
    if certificate.hub_delivery_number and existing.hub_delivery_number == certificate.hub_delivery_number:
        same = True
    else:
        same = existing.body_hash == body_hash or _delivered_content(
            Certificate.model_validate(existing.body)
        ) == _delivered_content(certificate)
    if not same:
        raise Conflict(
            f"certificate {certificate.issuing_country} {certificate.number} was already received "
            f"({existing.id}) with a different content; a replacement needs a new number",
            field="number",
        )
    return existing


async def receive(
    transaction: Transaction,
    *,
    certificate: Certificate,
    caller: Caller,
    correlation_id: str,
    now: datetime,
    source: str,
    document: bytes | None = None,
) -> tuple[Row[Any], bool]:
    """Store a certificate from its issuing NPPO with its CertificateReceived event; a redelivery changes nothing.

    `document` is the SPSCertificate XML as delivered, kept for retrieval (the event carries parsed fields).
    """
    connection = transaction.connection
    if caller.role is not Role.NPPO or certificate.issuing_country != caller.subject:
        raise Forbidden(
            f"only the NPPO of {certificate.issuing_country} may submit this certificate", field="issuing_country"
        )
    body_hash = content_hash(certificate)
    existing = await repository.certificate_by_number(connection, certificate.issuing_country, certificate.number)
    if existing is not None:
        return _redelivered(existing, certificate, body_hash), False
    certificate_id = str(ULID())
    try:
        async with connection.begin_nested():
            await repository.insert_certificate(
                connection,
                {
                    "id": certificate_id,
                    "issuing_country": certificate.issuing_country,
                    "number": certificate.number,
                    "body": certificate.model_dump(mode="json"),
                    "body_hash": body_hash,
                    "hub_delivery_number": certificate.hub_delivery_number,
                    "correlation_id": correlation_id,
                    "received_at": now,
                    "document": document,
                },
            )
    except IntegrityError:
        # A concurrent delivery of the same number committed since we looked: answer as if it came first.
        existing = await repository.certificate_by_number(connection, certificate.issuing_country, certificate.number)
        if existing is None:
            raise
        return _redelivered(existing, certificate, body_hash), False
    stored = await repository.certificate_by_id(connection, certificate_id)
    assert stored is not None
    event = CertificateReceived(certificate_id=certificate_id, certificate=certificate, received_at=now)
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id))
    return stored, True


async def get(connection: AsyncConnection, *, certificate_id: str, caller: Caller) -> Row[Any]:
    """NPPOs read their own country's certificates, officers (and operators granted trade:read) all, traders
    those their declarations cite."""
    row = await repository.certificate_by_id(connection, certificate_id)
    allowed = row is not None and (
        (caller.role is Role.NPPO and caller.subject == row.issuing_country)
        or caller.reads_all_trade()
        or (
            caller.role is Role.TRADER
            and await repository.trader_references_certificate(connection, caller.subject, row.number)
        )
    )
    if row is None or not allowed:
        raise NotFound(f"no certificate {certificate_id} that this API key may see")
    return row
