"""Deciding on a submitted declaration: duties, risk lane, security, and the customs decision event."""

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.events import AgencyDecisionMade, DeclarationAmended, DeclarationCancelled, DeclarationSubmitted
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
_PAID = select(payments.c.national_amount).where(payments.c.declaration_id == bindparam("declaration_id"))
_LAST_SEQUENCE = select(func.max(decisions.c.sequence)).where(decisions.c.declaration_id == bindparam("declaration_id"))


async def decide(transaction: Transaction, envelope: Envelope, *, rulebook: Rulebook, now: datetime) -> None:
    """Assess a declaration as lodged or amended; a version customs has already seen, or a cancelled
    declaration, changes nothing."""
    lodged = envelope.data
    assert isinstance(lodged, DeclarationSubmitted | DeclarationAmended)
    connection = transaction.connection
    stored = await stored_declaration(connection, lodged.declaration_id)
    body = lodged.declaration.model_dump(mode="json")
    if stored is None:
        await connection.execute(
            _INSERT_DECLARATION,
            {
                "declaration_id": lodged.declaration_id,
                "version": lodged.version,
                "declaration": body,
                "submitted_at": lodged.submitted_at,
            },
        )
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
    amounts = await connection.scalars(_PAID, {"declaration_id": declaration_id})
    return sum((Decimal(amount) for amount in amounts), ZERO)


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
    sequence = (last or 0) + 1
    event_id = output_event_id(cause.id, AGENCY)
    await connection.execute(
        _INSERT_DECISION,
        {
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
        },
    )
    event = AgencyDecisionMade(
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
    await transaction.publish(
        Envelope(data=event, source=AGENCY, correlation_id=cause.correlation_id, id=event_id, time=now)
    )
