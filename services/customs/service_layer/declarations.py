"""Deciding on a submitted declaration: duties, risk lane, security, and the customs decision event."""

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.dumped import JsonText, json_text
from services.contract.events import AgencyDecisionMade, DeclarationAmended, DeclarationCancelled, DeclarationSubmitted
from services.contract.logs import correlated
from services.contract.outbox import Transaction
from services.customs.adapters.orm import decisions, declarations, payments
from services.customs.domain.duties import ZERO
from services.customs.domain.rulebook import CustomsDecision, Rulebook

AGENCY = "customs"
log = logging.getLogger(__name__)

# Statements built once, their values given with each execution (as the gateway's): no statement is built and
# cache-keyed again for every event.
_INSERT_DECLARATION = insert(declarations)
_INSERT_DECISION = insert(decisions)
_STORED = select(declarations).where(declarations.c.declaration_id == bindparam("declaration_id"))
_LAST_SEQUENCE = select(func.max(decisions.c.sequence)).where(decisions.c.declaration_id == bindparam("declaration_id"))
_HELD = select(declarations.c.declaration_id).where(declarations.c.declaration_id.in_(bindparam("ids", expanding=True)))
_PAID_BY = select(payments.c.declaration_id, payments.c.national_amount).where(
    payments.c.declaration_id.in_(bindparam("ids", expanding=True))
)


async def decide(transaction: Transaction, envelope: Envelope, *, rulebook: Rulebook, now: datetime) -> None:
    """Assess a declaration as lodged or amended; a version customs has already seen, or a cancelled
    declaration, changes nothing."""
    lodged = envelope.data
    assert isinstance(lodged, DeclarationSubmitted | DeclarationAmended)
    connection = transaction.connection
    stored = await stored_declaration(connection, lodged.declaration_id)
    body = lodged.declaration.model_dump(mode="json")
    if stored is None:
        await connection.execute(_INSERT_DECLARATION, _declaration_row(lodged, body))
    elif stored.cancelled_at is not None or stored.version >= lodged.version:
        log.warning(
            "declaration %s version %d: not assessed, customs holds version %d%s",
            lodged.declaration_id,
            lodged.version,
            stored.version,
            " (cancelled)" if stored.cancelled_at else "",
        )
        return
    else:
        await connection.execute(
            update(declarations)
            .where(declarations.c.declaration_id == lodged.declaration_id)
            .values(version=lodged.version, declaration=body)
        )
    # Duties and rates are those of the day the declaration was first accepted, whatever amendments followed.
    decision = rulebook.decide(
        lodged.declaration_id,
        lodged.declaration,
        on=lodged.submitted_at.date(),
        paid=await paid_towards(connection, lodged.declaration_id),
    )
    await publish_decision(
        transaction,
        envelope,
        declaration_id=lodged.declaration_id,
        declaration_version=lodged.version,
        decision=decision,
        rules_version=rulebook.profile.version,
        now=now,
        # Every other decision answers an earlier one (controls.py): a declaration customs did not hold has none.
        first=stored is None,
    )


async def cancel(transaction: Transaction, envelope: Envelope) -> None:
    """Mark the declaration cancelled: later inspection results and versions are not acted on."""
    cancelled = envelope.data
    assert isinstance(cancelled, DeclarationCancelled)
    result = await transaction.connection.execute(
        update(declarations)
        .where(declarations.c.declaration_id == cancelled.declaration_id, declarations.c.cancelled_at.is_(None))
        .values(cancelled_at=cancelled.cancelled_at)
    )
    if result.rowcount == 0:
        log.warning("cancellation of declaration %s, which customs holds no open record of", cancelled.declaration_id)


async def stored_declaration(connection: AsyncConnection, declaration_id: str) -> Row[Any] | None:
    return (await connection.execute(_STORED, {"declaration_id": declaration_id})).first()


async def paid_towards(connection: AsyncConnection, declaration_id: str) -> Decimal:
    """What the payments recorded for the declaration add up to, in national currency."""
    return (await paid_by(connection, [declaration_id])).get(declaration_id, ZERO)


async def paid_by(connection: AsyncConnection, declaration_ids: list[str]) -> dict[str, Decimal]:
    """What the payments recorded for each declaration add up to, in national currency (none paid: absent)."""
    paid: dict[str, Decimal] = {}
    for declaration_id, amount in (await connection.execute(_PAID_BY, {"ids": declaration_ids})).all():
        paid[declaration_id] = paid.get(declaration_id, ZERO) + Decimal(amount)
    return paid


async def publish_decision(
    transaction: Transaction,
    cause: Envelope,
    *,
    declaration_id: str,
    declaration_version: int,
    decision: CustomsDecision,
    rules_version: str,
    now: datetime,
    first: bool = False,
) -> None:
    """Record the decision with the next sequence for the declaration (1 when `first`: no decision on it yet) and
    put it in the outbox."""
    connection = transaction.connection
    last = 0 if first else await connection.scalar(_LAST_SEQUENCE, {"declaration_id": declaration_id})
    row, event = _decided(cause, declaration_id, declaration_version, (last or 0) + 1, decision, rules_version, now)
    await connection.execute(_INSERT_DECISION, row)
    await transaction.publish(event)


async def decide_lodgements(
    transaction: Transaction, lodgements: list[Envelope], *, rulebook: Rulebook, now: datetime
) -> list[Envelope]:
    """Decide lodgements of declarations customs does not hold yet all together, in a few statements whatever
    their number (the declarations, their decisions, the events). Their declaration ids must differ. Those it holds
    already (redelivered, or amended before) are returned, for `decide` one at a time."""
    if not lodgements:
        return []
    connection = transaction.connection
    ids = [_lodged(envelope).declaration_id for envelope in lodgements]
    held = set(await connection.scalars(_HELD, {"ids": ids}))
    paid = await paid_by(connection, ids)
    declarations_rows, decision_rows, events = [], [], []
    for envelope in lodgements:
        lodged = _lodged(envelope)
        if lodged.declaration_id in held:
            continue
        with correlated(envelope.correlation_id):
            declarations_rows.append(_declaration_row(lodged, json_text(lodged.declaration)))
            decision = rulebook.decide(
                lodged.declaration_id,
                lodged.declaration,
                on=lodged.submitted_at.date(),
                paid=paid.get(lodged.declaration_id, ZERO),
            )
            row, event = _decided(
                envelope, lodged.declaration_id, lodged.version, 1, decision, rulebook.profile.version, now
            )
        decision_rows.append(row)
        events.append(event)
    if events:
        await connection.execute(_INSERT_DECLARATION, declarations_rows)
        await connection.execute(_INSERT_DECISION, decision_rows)
        await transaction.publish(*events)
    return [envelope for envelope in lodgements if _lodged(envelope).declaration_id in held]


def _declaration_row(
    lodged: DeclarationSubmitted | DeclarationAmended, body: dict[str, Any] | JsonText
) -> dict[str, Any]:
    return {
        "declaration_id": lodged.declaration_id,
        "version": lodged.version,
        "declaration": body,
        "submitted_at": lodged.submitted_at,
    }


def _lodged(envelope: Envelope) -> DeclarationSubmitted | DeclarationAmended:
    lodged = envelope.data
    assert isinstance(lodged, DeclarationSubmitted | DeclarationAmended)
    return lodged


def _decided(
    cause: Envelope,
    declaration_id: str,
    declaration_version: int,
    sequence: int,
    decision: CustomsDecision,
    rules_version: str,
    now: datetime,
) -> tuple[dict[str, Any], Envelope]:
    """A decision's row and its event (logged: the lane and outcome)."""
    event_id = output_event_id(cause.id, AGENCY)
    row = {
        "event_id": event_id,
        "declaration_id": declaration_id,
        "declaration_version": declaration_version,
        "sequence": sequence,
        "lane": decision.lane.value if decision.lane else None,
        "outcome": decision.outcome.value,
        "hits": decision.details.get("hits", []),
        "reasons": [reason.model_dump(mode="json") for reason in decision.reasons],
        "details": decision.details,
        "profile_version": rules_version,
        "decided_at": now,
    }
    made = AgencyDecisionMade(
        agency=AGENCY,
        declaration_id=declaration_id,
        declaration_version=declaration_version,
        sequence=sequence,
        outcome=decision.outcome,
        reasons=decision.reasons,
        details=decision.details,
        rules_version=rules_version,
        decided_at=now,
    )
    log.info(
        "declaration %s: %s lane, %s (%s)",
        declaration_id,
        decision.lane.value if decision.lane else "no",
        decision.outcome.value,
        ", ".join(f"{name} {version}" for name, version in decision.details["versions"].items()),
    )
    return row, Envelope(data=made, source=AGENCY, correlation_id=cause.correlation_id, id=event_id, time=now)
