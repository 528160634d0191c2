"""Queries of the gateway database; every function runs inside the caller's transaction."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.events import Outcome, Reason
from services.gateway.adapters.orm import (
    agency_decisions,
    api_keys,
    certificate_references,
    certificates,
    declarations,
    timeline,
)
from services.gateway.domain.clearance import AgencyDecision


async def declaration_by_id(connection: AsyncConnection, declaration_id: str) -> Row[Any] | None:
    return (await connection.execute(select(declarations).where(declarations.c.id == declaration_id))).first()


async def list_declarations(
    connection: AsyncConnection,
    *,
    visible_to: str | None,
    status: str | None,
    lrn: str | None,
    submitted_from: datetime | None,
    submitted_to: datetime | None,
    before_id: str | None,
    limit: int,
) -> list[Row[Any]]:
    """Newest first (ULIDs sort by time); `visible_to` keeps a trader's own (declarant or importer)."""
    query = select(declarations).order_by(declarations.c.id.desc()).limit(limit)
    if visible_to is not None:
        query = query.where(or_(declarations.c.declarant_id == visible_to, declarations.c.importer_id == visible_to))
    if status is not None:
        query = query.where(declarations.c.status == status)
    if lrn is not None:
        query = query.where(declarations.c.lrn == lrn)
    if submitted_from is not None:
        query = query.where(declarations.c.submitted_at >= submitted_from)
    if submitted_to is not None:
        query = query.where(declarations.c.submitted_at < submitted_to)
    if before_id is not None:
        query = query.where(declarations.c.id < before_id)
    return list(await connection.execute(query))


async def declaration_by_lrn(connection: AsyncConnection, declarant_id: str, lrn: str) -> Row[Any] | None:
    query = select(declarations).where(declarations.c.declarant_id == declarant_id, declarations.c.lrn == lrn)
    return (await connection.execute(query)).first()


async def insert_declaration(
    connection: AsyncConnection, values: dict[str, Any], certificate_numbers: set[str]
) -> None:
    await connection.execute(insert(declarations).values(**values))
    for number in certificate_numbers:
        await connection.execute(
            insert(certificate_references).values(declaration_id=values["id"], certificate_number=number)
        )


async def set_status(
    connection: AsyncConnection, declaration_id: str, status: str, reasons: list[dict[str, str]], now: datetime
) -> None:
    await connection.execute(
        update(declarations)
        .where(declarations.c.id == declaration_id)
        .values(status=status, status_reasons=reasons, updated_at=now)
    )


async def certificate_by_id(connection: AsyncConnection, certificate_id: str) -> Row[Any] | None:
    return (await connection.execute(select(certificates).where(certificates.c.id == certificate_id))).first()


async def certificate_by_number(connection: AsyncConnection, country: str, number: str) -> Row[Any] | None:
    query = select(certificates).where(certificates.c.issuing_country == country, certificates.c.number == number)
    return (await connection.execute(query)).first()


async def insert_certificate(connection: AsyncConnection, values: dict[str, Any]) -> None:
    await connection.execute(insert(certificates).values(**values))


async def trader_references_certificate(connection: AsyncConnection, trader_id: str, number: str) -> bool:
    """True when one of the trader's declarations cites this certificate number."""
    query = (
        select(certificate_references.c.declaration_id)
        .join(declarations, declarations.c.id == certificate_references.c.declaration_id)
        .where(
            certificate_references.c.certificate_number == number,
            or_(declarations.c.declarant_id == trader_id, declarations.c.importer_id == trader_id),
        )
        .limit(1)
    )
    return (await connection.scalar(query)) is not None


async def insert_decision(connection: AsyncConnection, values: dict[str, Any]) -> None:
    await connection.execute(insert(agency_decisions).values(**values))


@dataclass(frozen=True)
class RecordedDecision:
    decision: AgencyDecision
    event_id: str
    details: dict[str, Any]
    rules_version: str
    decided_at: datetime


async def decisions_of(connection: AsyncConnection, declaration_id: str) -> list[RecordedDecision]:
    """Every decision received for the declaration, in the order they arrived."""
    query = (
        select(agency_decisions)
        .where(agency_decisions.c.declaration_id == declaration_id)
        .order_by(agency_decisions.c.received_at, agency_decisions.c.event_id)
    )
    return [
        RecordedDecision(
            decision=AgencyDecision(
                agency=row.agency,
                declaration_version=row.declaration_version,
                sequence=row.sequence,
                outcome=Outcome(row.outcome),
                reasons=tuple(Reason.model_validate(reason) for reason in row.reasons),
            ),
            event_id=row.event_id,
            details=row.details,
            rules_version=row.rules_version,
            decided_at=row.decided_at,
        )
        for row in await connection.execute(query)
    ]


async def add_to_timeline(
    connection: AsyncConnection,
    declaration_id: str,
    at: datetime,
    kind: str,
    detail: dict[str, Any],
    agency: str | None = None,
) -> None:
    await connection.execute(
        insert(timeline).values(declaration_id=declaration_id, at=at, kind=kind, agency=agency, detail=detail)
    )


async def timeline_of(connection: AsyncConnection, declaration_id: str) -> list[Row[Any]]:
    query = select(timeline).where(timeline.c.declaration_id == declaration_id).order_by(timeline.c.id)
    return list(await connection.execute(query))


async def api_key(connection: AsyncConnection, key_hash: str) -> Row[Any] | None:
    query = select(api_keys).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
    return (await connection.execute(query)).first()


async def insert_api_key_if_absent(connection: AsyncConnection, values: dict[str, Any]) -> None:
    existing = await connection.scalar(select(api_keys.c.key_hash).where(api_keys.c.key_hash == values["key_hash"]))
    if existing is None:
        await connection.execute(insert(api_keys).values(**values))
