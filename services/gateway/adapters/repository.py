"""Queries of the gateway database; every function runs inside the caller's transaction."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Row, Text, bindparam, cast, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.database import insert_unless_present, stored_row
from services.contract.events import ClearanceState, Outcome, Reason
from services.gateway.adapters.orm import (
    agency_decisions,
    alerts,
    api_keys,
    certificate_references,
    certificates,
    corrections,
    declaration_versions,
    declarations,
    inspections,
    timeline,
)
from services.gateway.domain.clearance import AgencyDecision


async def declaration_by_id(connection: AsyncConnection, declaration_id: str) -> Row[Any] | None:
    return (await connection.execute(select(declarations).where(declarations.c.id == declaration_id))).first()


_DECLARATIONS_FOR_UPDATE = (
    select(*(column for column in declarations.c if column.name != "body"))  # a body is long, and joining needs none
    .where(declarations.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(declarations.c.id)  # every transaction locks in the same order: none waits on another in a circle
    .with_for_update()
)


async def declarations_for_update(connection: AsyncConnection, declaration_ids: list[str]) -> dict[str, Row[Any]]:
    """The declarations of these ids that exist, by id, without their bodies, locked until the transaction ends
    (PostgreSQL; SQLite transactions hold the write lock): a change committed meanwhile (a cancellation) is read,
    not overwritten."""
    return {row.id: row for row in await connection.execute(_DECLARATIONS_FOR_UPDATE, {"ids": declaration_ids})}


@dataclass(frozen=True)
class DeclarationFilter:
    """What a list of declarations keeps; None keeps all."""

    status: str | None = None
    state: str | None = None
    agency: str | None = None
    """Only declarations routed to this agency."""
    lrn: str | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None


async def list_declarations(
    connection: AsyncConnection,
    *,
    visible_to: str | None,
    keep: DeclarationFilter,
    before_id: str | None,
    limit: int,
) -> list[Row[Any]]:
    """Newest first (ULIDs sort by time); `visible_to` keeps a trader's own (declarant or importer)."""
    query = select(declarations).order_by(declarations.c.id.desc()).limit(limit)
    if visible_to is not None:
        query = query.where(or_(declarations.c.declarant_id == visible_to, declarations.c.importer_id == visible_to))
    if keep.status is not None:
        query = query.where(declarations.c.status == keep.status)
    if keep.state is not None:
        query = query.where(declarations.c.state == keep.state)
    if keep.agency is not None:
        # required_agencies is a JSON list of codes ([a-z0-9_]): its text holds the code in quotes.
        routed = cast(declarations.c.required_agencies, Text).contains(f'"{keep.agency}"', autoescape=True)
        query = query.where(routed)
    if keep.lrn is not None:
        query = query.where(declarations.c.lrn == keep.lrn)
    if keep.submitted_from is not None:
        query = query.where(declarations.c.submitted_at >= keep.submitted_from)
    if keep.submitted_to is not None:
        query = query.where(declarations.c.submitted_at < keep.submitted_to)
    if before_id is not None:
        query = query.where(declarations.c.id < before_id)
    return list(await connection.execute(query))


async def declaration_by_lrn(connection: AsyncConnection, declarant_id: str, lrn: str) -> Row[Any] | None:
    query = select(declarations).where(declarations.c.declarant_id == declarant_id, declarations.c.lrn == lrn)
    return (await connection.execute(query)).first()


async def declaration_for_update(connection: AsyncConnection, declaration_id: str) -> Row[Any] | None:
    """The declaration, locked until the transaction ends (PostgreSQL; SQLite transactions hold the write lock)."""
    query = select(declarations).where(declarations.c.id == declaration_id).with_for_update()
    return (await connection.execute(query)).first()


@dataclass(frozen=True)
class Inserted:
    """The rows a new declaration was stored as: itself and its first version, without their bodies."""

    declaration: Row[Any]
    version: Row[Any]


async def insert_declaration(
    connection: AsyncConnection, values: dict[str, Any], certificate_numbers: set[str]
) -> Inserted | None:
    """A new declaration, its first version, and the certificates it cites; None, writing nothing, when its
    declarant used its LRN before (also when that declaration is committed by a concurrent transaction)."""
    new = insert_unless_present(connection.dialect.name, declarations)
    if (await connection.execute(new, values)).rowcount == 0:
        return None
    first = {
        "declaration_id": values["id"],
        "version": 1,
        "body": values["body"],
        "changed": [],
        "lodged_at": values["submitted_at"],
    }
    await connection.execute(_FIRST_VERSION, first)
    await _cite(connection, values["id"], certificate_numbers)
    return Inserted(
        stored_row(declarations, values, without=_BODY), stored_row(declaration_versions, first, without=_BODY)
    )


# Statements built once (parameters come with each execution): building and keying one per call costs more
# than running it.
_FIRST_VERSION = insert(declaration_versions)
_TIMELINE_ENTRY = insert(timeline)
_ID = frozenset({"id"})
_BODY = frozenset({"body"})
_CITATION = insert(certificate_references)


async def insert_version(
    connection: AsyncConnection,
    declaration_id: str,
    values: dict[str, Any],
    changed: list[str],
    certificate_numbers: set[str],
) -> None:
    """Make `values` (version, body...) the declaration's current version; earlier versions stay readable."""
    await connection.execute(update(declarations).where(declarations.c.id == declaration_id).values(**values))
    await connection.execute(
        insert(declaration_versions).values(
            declaration_id=declaration_id,
            version=values["version"],
            body=values["body"],
            changed=changed,
            lodged_at=values["updated_at"],
        )
    )
    await connection.execute(
        delete(certificate_references).where(certificate_references.c.declaration_id == declaration_id)
    )
    await _cite(connection, declaration_id, certificate_numbers)


async def _cite(connection: AsyncConnection, declaration_id: str, certificate_numbers: set[str]) -> None:
    if certificate_numbers:
        await connection.execute(
            _CITATION,
            [{"declaration_id": declaration_id, "certificate_number": cited} for cited in sorted(certificate_numbers)],
        )


async def versions_of(connection: AsyncConnection, declaration_id: str) -> list[Row[Any]]:
    query = (
        select(declaration_versions)
        .where(declaration_versions.c.declaration_id == declaration_id)
        .order_by(declaration_versions.c.version)
    )
    return list(await connection.execute(query))


async def version_of(connection: AsyncConnection, declaration_id: str, version: int) -> Row[Any] | None:
    query = select(declaration_versions).where(
        declaration_versions.c.declaration_id == declaration_id, declaration_versions.c.version == version
    )
    return (await connection.execute(query)).first()


async def insert_correction(connection: AsyncConnection, values: dict[str, Any]) -> None:
    await connection.execute(insert(corrections).values(**values))


async def corrections_of(connection: AsyncConnection, declaration_id: str) -> list[Row[Any]]:
    query = select(corrections).where(corrections.c.declaration_id == declaration_id).order_by(corrections.c.number)
    return list(await connection.execute(query))


async def set_correction_assessment(
    connection: AsyncConnection, correction_id: str, assessment: dict[str, Any], at: datetime
) -> bool:
    """Keep customs' assessment of a correction; False when there is no such correction."""
    result = await connection.execute(
        update(corrections).where(corrections.c.id == correction_id).values(assessment=assessment, assessed_at=at)
    )
    return result.rowcount > 0


async def set_required_agencies(connection: AsyncConnection, declaration_id: str, required: list[str]) -> None:
    query = update(declarations).where(declarations.c.id == declaration_id).values(required_agencies=required)
    await connection.execute(query)


async def referred_agencies(connection: AsyncConnection, declaration_id: str) -> set[str]:
    """Every agency an officer referred the declaration's goods to, on any version."""
    query = select(inspections.c.referred_to).where(
        inspections.c.declaration_id == declaration_id, inspections.c.referred_to.is_not(None)
    )
    return set((await connection.scalars(query)).all())


_SET_STATE = update(declarations).where(declarations.c.id == bindparam("state_of"))


async def set_states(
    connection: AsyncConnection, states: list[tuple[str, ClearanceState, list[dict[str, str]]]], now: datetime
) -> None:
    """The single-window state and its reasons of each declaration, in one statement."""
    await connection.execute(
        _SET_STATE,
        [
            {
                "state_of": key,
                "state": state.value,
                "status": state.status.value,
                "status_reasons": reasons,
                "updated_at": now,
            }
            for key, state, reasons in states
        ],
    )


async def certificate_by_id(connection: AsyncConnection, certificate_id: str) -> Row[Any] | None:
    return (await connection.execute(_CERTIFICATE_BY_ID, {"id": certificate_id})).first()


async def certificate_by_number(connection: AsyncConnection, country: str, number: str) -> Row[Any] | None:
    return (await connection.execute(_CERTIFICATE_BY_NUMBER, {"country": country, "number": number})).first()


# Built once (the values come with each execution): every delivery and every read of a certificate runs one.
_CERTIFICATE_BY_ID = select(certificates).where(certificates.c.id == bindparam("id"))
_CERTIFICATE_BY_NUMBER = select(certificates).where(
    certificates.c.issuing_country == bindparam("country"), certificates.c.number == bindparam("number")
)


async def insert_certificate(connection: AsyncConnection, values: dict[str, Any]) -> Row[Any] | None:
    """A new certificate: its row without the body and document it was given; None, writing nothing, when its
    issuing country and number are stored already (also by a concurrent transaction)."""
    new = insert_unless_present(connection.dialect.name, certificates)
    if (await connection.execute(new, values)).rowcount == 0:
        return None
    return stored_row(certificates, values, without=_BODY_AND_DOCUMENT)


_BODY_AND_DOCUMENT = frozenset({"body", "document"})


async def update_certificate(
    connection: AsyncConnection, certificate_id: str, *, expected_hash: str, values: dict[str, Any]
) -> bool:
    """Change a stored certificate unless another writer changed it since it was read (its hash moved)."""
    result = await connection.execute(
        update(certificates)
        .where(certificates.c.id == certificate_id, certificates.c.body_hash == expected_hash)
        .values(**values)
    )
    return bool(result.rowcount == 1)


async def trader_declarations_citing(connection: AsyncConnection, trader_id: str, number: str) -> list[Any]:
    """The bodies (current versions) of the trader's declarations, as declarant or importer, that cite this
    certificate number."""
    query = (
        select(declarations.c.body)
        .join(certificate_references, declarations.c.id == certificate_references.c.declaration_id)
        .where(
            certificate_references.c.certificate_number == number,
            or_(declarations.c.declarant_id == trader_id, declarations.c.importer_id == trader_id),
        )
        .order_by(declarations.c.id)
    )
    return list((await connection.scalars(query)).all())


async def insert_decisions(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Agency decisions received, in one statement."""
    await connection.execute(_INSERT_DECISION, rows)


_INSERT_DECISION = insert(agency_decisions)


@dataclass(frozen=True)
class RecordedDecision:
    decision: AgencyDecision
    event_id: str
    details: dict[str, Any]
    rules_version: str
    decided_at: datetime


async def decisions_of(connection: AsyncConnection, declaration_id: str) -> list[RecordedDecision]:
    """Every decision received for the declaration, in the order they arrived."""
    return (await decisions_of_each(connection, [declaration_id])).get(declaration_id, [])


_DECISIONS_OF_EACH = (
    select(agency_decisions)
    .where(agency_decisions.c.declaration_id.in_(bindparam("ids", expanding=True)))
    .order_by(agency_decisions.c.received_at, agency_decisions.c.event_id)
)


async def decisions_of_each(
    connection: AsyncConnection, declaration_ids: list[str]
) -> dict[str, list[RecordedDecision]]:
    """Every decision received for each of the declarations, in the order they arrived."""
    found: dict[str, list[RecordedDecision]] = {}
    for row in await connection.execute(_DECISIONS_OF_EACH, {"ids": declaration_ids}):
        recorded = RecordedDecision(
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
        found.setdefault(row.declaration_id, []).append(recorded)
    return found


async def add_to_timelines(connection: AsyncConnection, entries: list[dict[str, Any]]) -> None:
    """Entries (declaration_id, at, kind, agency, detail) added to their declarations' timelines, in one statement."""
    await connection.execute(_TIMELINE_ENTRIES, entries)


_TIMELINE_ENTRIES = insert(timeline)


async def add_to_timeline(
    connection: AsyncConnection,
    declaration_id: str,
    at: datetime,
    kind: str,
    detail: dict[str, Any],
    agency: str | None = None,
) -> Row[Any]:
    """The entry added: its row as stored, but its id."""
    entry = {"declaration_id": declaration_id, "at": at, "kind": kind, "agency": agency, "detail": detail}
    await connection.execute(_TIMELINE_ENTRY, entry)
    return stored_row(timeline, entry, without=_ID)


async def insert_alert(connection: AsyncConnection, values: dict[str, Any]) -> bool:
    """Keep an alert; False when it was kept before (a redelivered alert changes nothing)."""
    if await connection.scalar(select(alerts.c.alert_id).where(alerts.c.alert_id == values["alert_id"])) is not None:
        return False
    await connection.execute(insert(alerts).values(**values))
    return True


async def alerts_of(connection: AsyncConnection, declaration_id: str) -> list[Row[Any]]:
    query = select(alerts).where(alerts.c.declaration_id == declaration_id).order_by(alerts.c.received_at)
    return list(await connection.execute(query))


async def timeline_of(connection: AsyncConnection, declaration_id: str) -> list[Row[Any]]:
    query = select(timeline).where(timeline.c.declaration_id == declaration_id).order_by(timeline.c.id)
    return list(await connection.execute(query))


async def api_key(connection: AsyncConnection, key_hash: str) -> Row[Any] | None:
    """The role, subject, label and grants of the key in force with this hash (every request asks: the statement
    is built once, and reads only what a caller is made of)."""
    return (await connection.execute(_KEY_IN_FORCE, {"key_hash": key_hash})).first()


_CALLER_COLUMNS: tuple[Column[Any], ...] = (api_keys.c.role, api_keys.c.subject, api_keys.c.label, api_keys.c.grants)
_KEY_IN_FORCE = select(*_CALLER_COLUMNS).where(
    api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None)
)


async def insert_api_key_if_absent(connection: AsyncConnection, values: dict[str, Any]) -> None:
    existing = await connection.scalar(select(api_keys.c.key_hash).where(api_keys.c.key_hash == values["key_hash"]))
    if existing is None:
        await insert_api_key(connection, values)


async def insert_api_key(connection: AsyncConnection, values: dict[str, Any]) -> None:
    await connection.execute(insert(api_keys).values(**values))


async def revoke_api_key(connection: AsyncConnection, key_id: str, now: datetime) -> bool:
    result = await connection.execute(
        update(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount > 0


async def api_keys_listing(connection: AsyncConnection) -> list[Row[Any]]:
    columns = [c for c in api_keys.c if c.name != "key_hash"]
    return list(await connection.execute(select(*columns).order_by(api_keys.c.created_at, api_keys.c.key_id)))
