"""Lodging and reading declarations."""

import hashlib
import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from services.contract.cloudevents import Envelope
from services.contract.declaration import PHYTOSANITARY_CERTIFICATE, Declaration, FunctionCode
from services.contract.dumped import dumped
from services.contract.events import ClearanceState, ClearanceStatus, DeclarationSubmitted
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.gateway.domain.routing import RoutingTable


def content_hash(model: BaseModel) -> str:
    """Hash of a model's canonical JSON: equal bodies give equal hashes whatever the key order sent."""
    return dumped_hash(dumped(model).values)


def dumped_hash(dumped: dict[str, Any]) -> str:
    """`content_hash` of the model that `model_dump(mode="json")` gave `dumped`: of its JSON with sorted keys, no
    spaces, and text beyond ASCII escaped, as Python's json writes it (hashes stored before must still match).
    orjson writes the same bytes for such values (the contract's models have no floats), but DEL and text beyond
    ASCII as they are, and no integer past 64 bits: those go to json."""
    with suppress(orjson.JSONEncodeError):
        canonical = orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)
        if canonical.isascii() and b"\x7f" not in canonical:
            return hashlib.sha256(canonical).hexdigest()
    escaped = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(escaped.encode()).hexdigest()


@dataclass(frozen=True)
class Lodged:
    """What `submit` did: the declaration's row (a new one's without its body: `declaration` is that); for a new
    declaration also the rows of its first version and of its timeline entry, which with the declaration sent are
    all its view shows (nothing is read back)."""

    row: Row[Any]
    declaration: Declaration
    first_version: Row[Any] | None = None
    submitted: Row[Any] | None = None

    @property
    def created(self) -> bool:
        return self.first_version is not None


async def submit(
    transaction: Transaction,
    *,
    declaration: Declaration,
    caller: Caller,
    routing: RoutingTable,
    correlation_id: str,
    now: datetime,
    source: str,
) -> Lodged:
    """Store a new declaration with its DeclarationSubmitted event; a resubmission returns the first one."""
    connection = transaction.connection
    lodged_by_caller(declaration, caller)
    if declaration.function_code is not FunctionCode.ORIGINAL:
        raise Unprocessable(
            f"a new declaration is sent with function code {FunctionCode.ORIGINAL.value} (original), not "
            f"{declaration.function_code.value}: amend or cancel a lodged one through "
            "/v1/declarations/{id}/amendments or /cancellation",
            field="function_code",
        )
    body = dumped(declaration)  # its JSON goes on into both tables, the event and the answer
    body_hash = dumped_hash(body.values)
    declaration_id = str(ULID())
    required = routing.required_agencies(declaration)
    inserted = await repository.insert_declaration(
        connection,
        {
            "id": declaration_id,
            "declarant_id": caller.subject,
            "importer_id": declaration.importer.id,
            "lrn": declaration.lrn,
            "version": 1,
            "body": body,
            "body_hash": body_hash,
            "required_agencies": required,
            "routing_version": routing.version,
            "status": ClearanceStatus.SUBMITTED.value,
            "state": ClearanceState.SUBMITTED.value,
            "status_reasons": [],
            "correlation_id": correlation_id,
            "submitted_at": now,
            "updated_at": now,
        },
        {document.id for document in declaration.referenced_documents(PHYTOSANITARY_CERTIFICATE)},
    )
    if inserted is None:  # the LRN was used before, perhaps by a concurrent request committed since
        existing = await repository.declaration_by_lrn(connection, caller.subject, declaration.lrn)
        if existing is None:
            raise RuntimeError(f"LRN {declaration.lrn!r} is taken, yet no declaration of this declarant has it")
        if existing.body_hash != body_hash:
            raise Conflict(
                f"LRN {declaration.lrn!r} was already used for declaration {existing.id} with a different body",
                field="lrn",
            )
        return Lodged(existing, declaration)  # the same body: its hash says so
    submitted = await repository.add_to_timeline(
        connection, declaration_id, now, "submitted", {"version": 1, "required_agencies": required}
    )
    event = submitted_event(declaration_id, declaration, required, routing, now)
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id))
    return Lodged(inserted.declaration, declaration, inserted.version, submitted)


def submitted_event(
    declaration_id: str, declaration: Declaration, required: list[str], routing: RoutingTable, now: datetime
) -> DeclarationSubmitted:
    """The event that a new declaration was lodged (its first version), routed to `required` by `routing`."""
    return DeclarationSubmitted(
        declaration_id=declaration_id,
        version=1,
        declaration=declaration,
        required_agencies=required,
        routing_version=routing.version,
        submitted_at=now,
    )


def lodged_by_caller(declaration: Declaration, caller: Caller, at: str = "") -> None:
    """A trader lodges, amends and corrects only declarations it is the declarant of. `at` is where the
    declaration sits in the request body."""
    if caller.role is not Role.TRADER or declaration.declarant.id != caller.subject:
        raise Forbidden(
            f"declarant.id {declaration.declarant.id!r} is not the trader this API key belongs to ({caller.subject!r})",
            field=f"{at}declarant.id",
        )


def can_read(caller: Caller, row: Row[Any]) -> bool:
    """Traders see declarations where they are declarant or importer; officers (and operators granted
    trade:read) see all."""
    if caller.role is Role.TRADER:
        return caller.subject in (row.declarant_id, row.importer_id)
    return caller.reads_all_trade()


async def list_visible(
    connection: AsyncConnection, *, caller: Caller, keep: repository.DeclarationFilter, cursor: str | None, limit: int
) -> tuple[list[Row[Any]], str | None]:
    """One page of the declarations the caller may see, and the cursor of the next page (None at the end)."""
    if caller.role is not Role.TRADER and not caller.reads_all_trade():
        raise Forbidden(f"a {caller.role} key does not list declarations")
    rows = await repository.list_declarations(
        connection,
        visible_to=caller.subject if caller.role is Role.TRADER else None,
        keep=keep,
        before_id=cursor,
        limit=limit + 1,  # one more tells whether a next page exists
    )
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


async def get(connection: AsyncConnection, *, declaration_id: str, caller: Caller) -> Row[Any]:
    row = await repository.declaration_by_id(connection, declaration_id)
    if row is None or not can_read(caller, row):
        raise NotFound(f"no declaration {declaration_id} that this API key may see")
    return row


async def get_version(connection: AsyncConnection, *, declaration_id: str, version: int, caller: Caller) -> Row[Any]:
    await get(connection, declaration_id=declaration_id, caller=caller)
    row = await repository.version_of(connection, declaration_id, version)
    if row is None:
        raise NotFound(f"declaration {declaration_id} has no version {version}")
    return row
