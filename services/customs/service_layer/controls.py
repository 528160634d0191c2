"""Moving a customs decision on: payments recorded by traders, inspection results recorded by officers."""

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.cloudevents import Envelope
from services.contract.consumer import PermanentEventError
from services.contract.events import DeclarationReferred, InspectionRecorded, Outcome, PaymentRecorded, Reason
from services.contract.outbox import Transaction
from services.customs.adapters.orm import decisions, payments
from services.customs.domain.control import Inspection, after_inspection, after_payment, after_referral
from services.customs.domain.exchange_rates import MissingExchangeRate
from services.customs.domain.lanes import Lane
from services.customs.domain.rulebook import CustomsDecision, Rulebook
from services.customs.service_layer.declarations import paid_towards, publish_decision, stored_declaration

log = logging.getLogger(__name__)


async def record_payment(transaction: Transaction, envelope: Envelope, *, rulebook: Rulebook, now: datetime) -> None:
    payment = envelope.data
    assert isinstance(payment, PaymentRecorded)
    try:
        national = rulebook.exchange_rates.to_national(
            payment.amount.value, payment.amount.currency, payment.recorded_at.date()
        )
    except MissingExchangeRate as exc:
        raise PermanentEventError(f"payment {payment.payment_id}: {exc}") from exc
    connection = transaction.connection
    await connection.execute(
        insert(payments).values(
            payment_id=payment.payment_id,
            declaration_id=payment.declaration_id,
            amount=str(payment.amount.value),
            currency=payment.amount.currency,
            national_amount=str(national),
            reference=payment.reference,
            recorded_at=payment.recorded_at,
        )
    )
    latest = await _latest(connection, payment.declaration_id)
    if latest is None:
        return  # recorded: the assessment, when it comes, counts it (declarations.decide)
    if await _cancelled(connection, payment.declaration_id):
        log.warning("payment %s on cancelled declaration %s: recorded", payment.payment_id, payment.declaration_id)
        return
    decision = after_payment(_decision_of(latest), await paid_towards(connection, payment.declaration_id))
    if decision is not None:
        await _publish(transaction, envelope, latest, decision, now)


async def record_inspection(transaction: Transaction, envelope: Envelope, *, now: datetime) -> None:
    recorded = envelope.data
    assert isinstance(recorded, InspectionRecorded)
    what = f"inspection {recorded.inspection_id}"
    latest = await _acting_on(transaction, what, recorded.declaration_id, recorded.declaration_version)
    if latest is not None:
        inspection = Inspection(recorded.result, recorded.findings, recorded.referred_to, recorded.officer)
        await _publish(transaction, envelope, latest, after_inspection(_decision_of(latest), inspection), now)


async def record_referral(transaction: Transaction, envelope: Envelope, *, now: datetime) -> None:
    """Goods another agency referred to customs are held for a customs officer's control."""
    referred = envelope.data
    assert isinstance(referred, DeclarationReferred)
    what = f"referral {referred.inspection_id}"
    latest = await _acting_on(transaction, what, referred.declaration_id, referred.version)
    if latest is None:
        return
    decision = after_referral(_decision_of(latest), referred.referred_by, referred.findings)
    if decision is not None:
        await _publish(transaction, envelope, latest, decision, now)


async def _acting_on(transaction: Transaction, what: str, declaration_id: str, version: int) -> Row[Any] | None:
    """Customs' latest decision when an officer's act on `version` still applies; None (logged) when the
    declaration has moved to another version or was cancelled."""
    latest = await _latest(transaction.connection, declaration_id)
    if latest is None:
        raise PermanentEventError(f"{what}: customs has no decision on the declaration")
    stale = latest.declaration_version != version
    if stale or await _cancelled(transaction.connection, declaration_id):
        log.warning(
            "%s of version %d not acted on: declaration %s is %s",
            what,
            version,
            declaration_id,
            f"at version {latest.declaration_version}" if stale else "cancelled",
        )
        return None
    return latest


async def _cancelled(connection: AsyncConnection, declaration_id: str) -> bool:
    stored = await stored_declaration(connection, declaration_id)
    return stored is not None and stored.cancelled_at is not None


async def _latest(connection: AsyncConnection, declaration_id: str) -> Row[Any] | None:
    result = await connection.execute(
        select(decisions)
        .where(decisions.c.declaration_id == declaration_id)
        .order_by(decisions.c.sequence.desc())
        .limit(1)
    )
    return result.first()


def _decision_of(row: Row[Any]) -> CustomsDecision:
    return CustomsDecision(
        outcome=Outcome(row.outcome),
        reasons=[Reason.model_validate(reason) for reason in row.reasons or []],
        details=dict(row.details or {}),
        lane=Lane(row.lane) if row.lane else None,
    )


async def _publish(
    transaction: Transaction, cause: Envelope, latest: Row[Any], decision: CustomsDecision, now: datetime
) -> None:
    await publish_decision(
        transaction,
        cause,
        declaration_id=latest.declaration_id,
        declaration_version=latest.declaration_version,
        decision=decision,
        rules_version=latest.profile_version,
        now=now,
    )
