"""A trader's changes to a lodged declaration: amendments and cancellation before release, corrections after."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from ulid import ULID

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.consumer import PermanentEventError
from services.contract.declaration import PHYTOSANITARY_CERTIFICATE, Declaration
from services.contract.dumped import dumped
from services.contract.events import (
    ClearanceState,
    ClearanceStatus,
    CorrectionAssessed,
    DeclarationAmended,
    DeclarationCancelled,
    DeclarationCorrected,
    Reason,
)
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.domain.amendments import Change, changed_fields, problem_with_body, refusal
from services.gateway.domain.callers import Caller
from services.gateway.domain.clearance import Clearance, join, latest_decisions
from services.gateway.domain.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.gateway.domain.routing import RoutingTable
from services.gateway.service_layer import declarations
from services.gateway.service_layer.decisions import publish_clearance

CANCELLED_BY_TRADER = "CANCELLED_BY_TRADER"


async def amend(
    transaction: Transaction,
    *,
    declaration_id: str,
    declaration: Declaration,
    caller: Caller,
    routing: RoutingTable,
    correlation_id: str,
    now: datetime,
    source: str,
) -> tuple[Row[Any], bool]:
    """Lodge the next version of a declaration that is not released; every required agency decides afresh.
    A body equal to the current version changes nothing (False)."""
    connection = transaction.connection
    row = await _declaration_to_change(transaction, declaration_id, caller, Change.AMENDMENT)
    current = Declaration.model_validate(row.body)
    _check_body(Change.AMENDMENT, current, declaration, caller)
    body = dumped(declaration).values
    changed = changed_fields(row.body, body)
    if not changed:
        return row, False
    version = row.version + 1
    referred = await repository.referred_agencies(connection, declaration_id)
    routed = routing.required_agencies(declaration)
    required = routed + sorted(referred - set(routed))  # a referral stands on later versions
    await repository.insert_version(
        connection,
        declaration_id,
        {
            "version": version,
            "body": body,
            "body_hash": declarations.content_hash(declaration),
            "required_agencies": required,
            "routing_version": routing.version,
            "updated_at": now,
        },
        changed,
        {document.id for document in declaration.referenced_documents(PHYTOSANITARY_CERTIFICATE)},
    )
    await repository.add_to_timeline(
        connection,
        declaration_id,
        now,
        "amended",
        {"version": version, "changed": changed, "required_agencies": required},
    )
    amended = Envelope(
        data=DeclarationAmended(
            declaration_id=declaration_id,
            version=version,
            declaration=declaration,
            changed=changed,
            required_agencies=required,
            routing_version=routing.version,
            submitted_at=row.submitted_at,
            amended_at=now,
        ),
        source=source,
        correlation_id=correlation_id,
        time=now,
    )
    await transaction.publish(amended)
    stored = await repository.declaration_by_id(connection, declaration_id)
    assert stored is not None
    # No agency has decided on the new version yet: decisions on earlier ones no longer count.
    await publish_clearance(
        transaction,
        stored,
        join(required, {}),
        now=now,
        source=source,
        correlation_id=correlation_id,
        event_id=output_event_id(amended.id, source),
        always=True,
    )
    refreshed = await repository.declaration_by_id(connection, declaration_id)
    assert refreshed is not None
    return refreshed, True


async def cancel(
    transaction: Transaction,
    *,
    declaration_id: str,
    reason: str,
    caller: Caller,
    correlation_id: str,
    now: datetime,
    source: str,
) -> tuple[Row[Any], bool]:
    """Cancel a declaration that is not released; agencies stop acting on it. Cancelling again changes nothing."""
    connection = transaction.connection
    row = await _own_declaration(transaction, declaration_id, caller)
    if row.status == ClearanceStatus.CANCELLED.value:
        return row, False
    _check_allowed(row, Change.CANCELLATION)
    await repository.add_to_timeline(
        connection, declaration_id, now, "cancelled", {"version": row.version, "reason": reason}
    )
    cancelled = Envelope(
        data=DeclarationCancelled(declaration_id=declaration_id, version=row.version, reason=reason, cancelled_at=now),
        source=source,
        correlation_id=correlation_id,
        time=now,
    )
    await transaction.publish(cancelled)
    recorded = await repository.decisions_of(connection, declaration_id)
    standings = join(row.required_agencies, latest_decisions((r.decision for r in recorded), row.version)).agencies
    clearance = Clearance(ClearanceState.CANCELLED, standings, (Reason(code=CANCELLED_BY_TRADER, text=reason),))
    await publish_clearance(
        transaction,
        row,
        clearance,
        now=now,
        source=source,
        correlation_id=correlation_id,
        event_id=output_event_id(cancelled.id, source),
    )
    refreshed = await repository.declaration_by_id(connection, declaration_id)
    assert refreshed is not None
    return refreshed, True


async def correct(
    transaction: Transaction,
    *,
    declaration_id: str,
    declaration: Declaration,
    reason: str,
    caller: Caller,
    correlation_id: str,
    now: datetime,
    source: str,
) -> tuple[Row[Any], bool]:
    """Record a post-clearance correction beside the released version, which stands; customs assesses what it
    changes in the duties. The same corrected body again returns the first record (False)."""
    connection = transaction.connection
    row = await _declaration_to_change(transaction, declaration_id, caller, Change.CORRECTION)
    released = Declaration.model_validate(row.body)
    _check_body(Change.CORRECTION, released, declaration, caller)
    body_hash = declarations.content_hash(declaration)
    earlier = await repository.corrections_of(connection, declaration_id)
    for recorded in earlier:
        if recorded.body_hash == body_hash:
            return recorded, False
    body = dumped(declaration).values
    changed = changed_fields(row.body, body)
    if not changed:
        raise Unprocessable("the correction changes nothing on the released declaration", field="declaration")
    correction_id = str(ULID())
    number = len(earlier) + 1
    try:
        async with connection.begin_nested():
            await repository.insert_correction(
                connection,
                {
                    "id": correction_id,
                    "declaration_id": declaration_id,
                    "number": number,
                    "released_version": row.version,
                    "body": body,
                    "body_hash": body_hash,
                    "changed": changed,
                    "reason": reason,
                    "recorded_by": caller.subject,
                    "recorded_at": now,
                },
            )
    except IntegrityError as exc:
        raise Conflict(f"declaration {declaration_id} was corrected at the same moment: GET it and retry") from exc
    await repository.add_to_timeline(
        connection,
        declaration_id,
        now,
        "correction_recorded",
        {"correction_id": correction_id, "number": number, "changed": changed, "reason": reason},
    )
    event = DeclarationCorrected(
        declaration_id=declaration_id,
        correction_id=correction_id,
        number=number,
        released_version=row.version,
        declaration=declaration,
        changed=changed,
        reason=reason,
        corrected_at=now,
    )
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id, time=now))
    stored = next(c for c in await repository.corrections_of(connection, declaration_id) if c.id == correction_id)
    return stored, True


async def record_assessment(transaction: Transaction, envelope: Envelope, *, now: datetime) -> None:
    """Keep customs' assessment of a correction with it, and on the declaration's timeline."""
    assessed = envelope.data
    assert isinstance(assessed, CorrectionAssessed)
    connection = transaction.connection
    summary = assessed.model_dump(mode="json", include={"accepted", "reasons", "before", "after", "difference"})
    if not await repository.set_correction_assessment(connection, assessed.correction_id, summary, now):
        raise PermanentEventError(f"assessment of unknown correction {assessed.correction_id}")
    detail = {"correction_id": assessed.correction_id} | summary
    await repository.add_to_timeline(
        connection, assessed.declaration_id, now, "correction_assessed", detail, agency=assessed.agency
    )


async def _declaration_to_change(
    transaction: Transaction, declaration_id: str, caller: Caller, change: Change
) -> Row[Any]:
    """The declaration, locked, when `caller` may make `change` to it now; else the error that says why not."""
    row = await _own_declaration(transaction, declaration_id, caller)
    _check_allowed(row, change)
    return row


async def _own_declaration(transaction: Transaction, declaration_id: str, caller: Caller) -> Row[Any]:
    """The declaration, locked, when `caller` is its declarant; 404 to those who may not see it, else 403."""
    row = await repository.declaration_for_update(transaction.connection, declaration_id)
    if row is None or not declarations.can_read(caller, row):
        raise NotFound(f"no declaration {declaration_id} that this API key may see")
    if row.declarant_id != caller.subject:
        raise Forbidden(f"only the declarant ({row.declarant_id}) changes declaration {row.id}; you are its importer")
    return row


def _check_allowed(row: Row[Any], change: Change) -> None:
    why = refusal(change, ClearanceStatus(row.status))
    if why is not None:
        raise Conflict(f"declaration {row.id} cannot take an {change.value}: {why}")


def _check_body(change: Change, current: Declaration, new: Declaration, caller: Caller) -> None:
    at = "declaration." if change is Change.CORRECTION else ""  # a correction carries it beside its reason
    declarations.lodged_by_caller(new, caller, at)
    problem = problem_with_body(change, current, new)
    if problem is not None:
        field, why = problem
        raise Unprocessable(why, field=at + field)
