"""Receiving and reading phytosanitary certificates."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from services.contract.certificate import Certificate, CertificateStatus
from services.contract.cloudevents import Envelope
from services.contract.declaration import Declaration
from services.contract.dumped import dumped
from services.contract.events import CertificateReceived
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.certificates import readable_through
from services.gateway.domain.errors import Conflict, Forbidden, NotFound
from services.gateway.service_layer.declarations import content_hash


def _content(certificate: Certificate, **ignoring: Any) -> str:
    """The hash of what a certificate says, whichever Hub delivery brought it (and without the fields named)."""
    return content_hash(certificate.model_copy(update={"hub_delivery_number": None, **ignoring}))


def _redelivered(existing: Row[Any], stored: Certificate, certificate: Certificate, body_hash: str) -> Row[Any]:
    """The stored certificate when this is a redelivery: the same Hub delivery number, or the same content (the Hub
    gives a certificate sent again a new delivery number), or the original delivered again after its withdrawal."""
    same = (
        bool(certificate.hub_delivery_number and existing.hub_delivery_number == certificate.hub_delivery_number)
        or existing.body_hash == body_hash
        or _content(stored) == _content(certificate)
        or (
            stored.status is CertificateStatus.WITHDRAWN
            and _content(stored, status=None) == _content(certificate, status=None)
        )
    )
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
    """Store a certificate from its issuing NPPO with its CertificateReceived event; a redelivery changes nothing;
    a withdrawal (status 40) of a stored certificate takes its place and is published again. The row and whether
    it is new; a new certificate's row has no body or document (the caller holds them).

    `document` is the SPSCertificate XML as delivered, kept for retrieval (the event carries parsed fields).
    """
    connection = transaction.connection
    if caller.role is not Role.NPPO or certificate.issuing_country != caller.subject:
        raise Forbidden(
            f"only the NPPO of {certificate.issuing_country} may submit this certificate", field="issuing_country"
        )
    body_hash = content_hash(certificate)
    certificate_id = str(ULID())
    stored = await repository.insert_certificate(  # one statement for a new certificate, the usual case
        connection,
        {
            "id": certificate_id,
            "issuing_country": certificate.issuing_country,
            "number": certificate.number,
            "body": dumped(certificate),
            "body_hash": body_hash,
            "hub_delivery_number": certificate.hub_delivery_number,
            "correlation_id": correlation_id,
            "received_at": now,
            "document": document,
        },
    )
    if stored is None:  # the number is taken (also by a concurrent delivery committed since): nothing was written
        existing = await repository.certificate_by_number(connection, certificate.issuing_country, certificate.number)
        if existing is None:
            raise RuntimeError(f"certificate {certificate.number} is taken, yet not stored for its issuing country")
        kept = Certificate.model_validate(existing.body)
        if certificate.status is CertificateStatus.WITHDRAWN and kept.status is CertificateStatus.ISSUED:
            withdrawn = await _withdraw(
                transaction, existing, certificate, body_hash, correlation_id, now, source, document
            )
            if withdrawn is not None:
                return withdrawn, False
            return await receive(  # another delivery changed it meanwhile: answer against what is stored now
                transaction,
                certificate=certificate,
                caller=caller,
                correlation_id=correlation_id,
                now=now,
                source=source,
                document=document,
            )
        return _redelivered(existing, kept, certificate, body_hash), False
    event = CertificateReceived(certificate_id=certificate_id, certificate=certificate, received_at=now)
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id))
    return stored, True


async def _withdraw(
    transaction: Transaction,
    existing: Row[Any],
    certificate: Certificate,
    body_hash: str,
    correlation_id: str,
    now: datetime,
    source: str,
    document: bytes | None,
) -> Row[Any] | None:
    """The issuing NPPO withdrew a certificate (status 40): the stored one takes the withdrawn content, and plant
    health hears of it (CertificateReceived again) to decide anew on every declaration relying on it. None when
    another delivery changed the stored certificate since it was read."""
    changed = await repository.update_certificate(
        transaction.connection,
        existing.id,
        expected_hash=existing.body_hash,
        values={
            "body": dumped(certificate),
            "body_hash": body_hash,
            "hub_delivery_number": certificate.hub_delivery_number,
            "document": document if document is not None else existing.document,
        },
    )
    if not changed:
        return None
    event = CertificateReceived(certificate_id=existing.id, certificate=certificate, received_at=now)
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id))
    return await repository.certificate_by_id(transaction.connection, existing.id)


async def get(connection: AsyncConnection, *, certificate_id: str, caller: Caller) -> Row[Any]:
    """NPPOs read their own country's certificates, officers (and operators granted trade:read) all, traders
    those issued for the consignment of a declaration of theirs that cites them (domain/certificates.py)."""
    row = await repository.certificate_by_id(connection, certificate_id)
    allowed = row is not None and (
        (caller.role is Role.NPPO and caller.subject == row.issuing_country)
        or caller.reads_all_trade()
        or (caller.role is Role.TRADER and await _trader_reads(connection, caller.subject, row))
    )
    if row is None or not allowed:
        raise NotFound(f"no certificate {certificate_id} that this API key may see")
    return row


async def _trader_reads(connection: AsyncConnection, trader_id: str, row: Row[Any]) -> bool:
    bodies = await repository.trader_declarations_citing(connection, trader_id, row.number)
    citing = [Declaration.model_validate(body) for body in bodies]
    return readable_through(citing, Certificate.model_validate(row.body))
