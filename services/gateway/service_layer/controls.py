"""What moves a held declaration on: a trader's payment of the duties, an officer's inspection result."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from services.contract.cloudevents import Envelope
from services.contract.declaration import Amount, Declaration
from services.contract.events import (
    ClearanceStatus,
    DeclarationReferred,
    InspectionRecorded,
    InspectionResult,
    Outcome,
    PaymentRecorded,
    PlantHealthAction,
)
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.adapters.orm import inspections, payments
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.clearance import latest_decisions
from services.gateway.domain.errors import Conflict, Forbidden, Unprocessable
from services.gateway.service_layer import declarations

PLANT_HEALTH = "phyto"
"""The agency whose officers record plant-health results (pests found, treatment, destruction, re-export)."""


@dataclass(frozen=True)
class PlantHealthFindings:
    """What a plant-health officer adds to a result; the contract (InspectionRecorded) says which combinations hold."""

    pests_found: tuple[str, ...] = ()
    action: PlantHealthAction | None = None
    treatment: str | None = None

    def given(self) -> list[str]:
        """The fields the officer filled in, in the request's order."""
        return [name for name, value in self.columns().items() if value]

    def columns(self) -> dict[str, Any]:
        return {
            "pests_found": list(self.pests_found) or None,
            "action": self.action.value if self.action else None,
            "treatment": self.treatment,
        }


_CLOSED = {ClearanceStatus.RELEASED.value, ClearanceStatus.REFUSED.value, ClearanceStatus.CANCELLED.value}


async def record_payment(
    transaction: Transaction,
    *,
    declaration_id: str,
    caller: Caller,
    amount: Amount,
    reference: str,
    correlation_id: str,
    now: datetime,
    source: str,
) -> tuple[Row[Any], bool]:
    """Store a payment and its PaymentRecorded event; the same reference and amount again returns the first."""
    connection = transaction.connection
    if caller.role is not Role.TRADER:
        raise Forbidden("only the trader of a declaration records its payments")
    declaration = await declarations.get(connection, declaration_id=declaration_id, caller=caller)
    existing = await _payment(connection, declaration_id, reference)
    if existing is not None:
        return _same_payment(existing, amount), False
    if declaration.status in _CLOSED and not await _more_due_after_correction(connection, declaration):
        raise Conflict(f"declaration {declaration_id} is {declaration.status}: no payment is due through it")
    payment_id = str(ULID())
    try:
        async with connection.begin_nested():
            await connection.execute(
                insert(payments).values(
                    id=payment_id,
                    declaration_id=declaration_id,
                    amount=str(amount.value),
                    currency=amount.currency,
                    reference=reference,
                    recorded_by=caller.subject,
                    recorded_at=now,
                )
            )
    except IntegrityError:
        # The same reference was committed by a concurrent request since we looked.
        existing = await _payment(connection, declaration_id, reference)
        if existing is None:
            raise
        return _same_payment(existing, amount), False
    detail = {"payment_id": payment_id, "amount": str(amount.value), "currency": amount.currency}
    await repository.add_to_timeline(
        connection, declaration_id, now, "payment_recorded", detail | {"reference": reference}
    )
    event = PaymentRecorded(
        declaration_id=declaration_id, payment_id=payment_id, amount=amount, reference=reference, recorded_at=now
    )
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id))
    stored = await _payment(connection, declaration_id, reference)
    assert stored is not None
    return stored, True


async def record_inspection(
    transaction: Transaction,
    *,
    declaration_id: str,
    caller: Caller,
    result: InspectionResult,
    findings: str | None,
    referred_to: str | None,
    plant_health: PlantHealthFindings = PlantHealthFindings(),
    agencies: frozenset[str],
    correlation_id: str,
    now: datetime,
    source: str,
) -> Row[Any]:
    """An officer's result for its own agency, on goods that agency holds; referrals name another known agency."""
    connection = transaction.connection
    if caller.role is not Role.OFFICER:
        raise Forbidden("only officers record inspection results")
    agency = caller.subject
    if agency != PLANT_HEALTH and (given := plant_health.given()):
        raise Unprocessable(
            f"{', '.join(given)}: plant-health results, which only {PLANT_HEALTH} officers record ({agency} officer)",
            field=given[0],
        )
    if referred_to is not None and (referred_to == agency or referred_to not in agencies):
        known = ", ".join(sorted(agencies - {agency}))
        raise Unprocessable(
            f"referred_to {referred_to!r} is not another agency of this border ({known})", field="referred_to"
        )
    await declarations.get(connection, declaration_id=declaration_id, caller=caller)
    declaration = await repository.declaration_for_update(connection, declaration_id)
    assert declaration is not None
    if declaration.status == ClearanceStatus.CANCELLED.value:
        raise Conflict(f"declaration {declaration_id} is cancelled: there are no goods to inspect under it")
    if agency not in declaration.required_agencies:
        raise Conflict(f"{agency} is not required to act on declaration {declaration_id}")
    recorded = await repository.decisions_of(connection, declaration_id)
    latest = latest_decisions((r.decision for r in recorded), declaration.version).get(agency)
    if latest is None:
        raise Conflict(f"{agency} has not decided on declaration {declaration_id} yet: there is nothing to inspect")
    if latest.outcome is not Outcome.HELD:
        raise Conflict(f"{agency}'s latest decision is {latest.outcome}: only goods it holds are inspected")
    inspection_id = str(ULID())
    officer = caller.label or f"{agency} officer"
    await connection.execute(
        insert(inspections).values(
            id=inspection_id,
            declaration_id=declaration_id,
            agency=agency,
            declaration_version=declaration.version,
            result=result.value,
            findings=findings,
            referred_to=referred_to,
            officer=officer,
            recorded_at=now,
            **plant_health.columns(),
        )
    )
    detail = {"inspection_id": inspection_id, "result": result.value, "findings": findings, "referred_to": referred_to}
    detail |= {name: value for name, value in plant_health.columns().items() if name in plant_health.given()}
    await repository.add_to_timeline(connection, declaration_id, now, "inspection_recorded", detail, agency=agency)
    event = InspectionRecorded(
        inspection_id=inspection_id,
        agency=agency,
        declaration_id=declaration_id,
        declaration_version=declaration.version,
        result=result,
        findings=findings,
        referred_to=referred_to,
        officer=officer,
        recorded_at=now,
        pests_found=list(plant_health.pests_found),
        action=plant_health.action,
        treatment=plant_health.treatment,
    )
    await transaction.publish(Envelope(data=event, source=source, correlation_id=correlation_id))
    if referred_to is not None:
        await _refer(transaction, declaration, event, correlation_id=correlation_id, source=source)
    row = (await connection.execute(select(inspections).where(inspections.c.id == inspection_id))).first()
    assert row is not None
    return row


async def _refer(
    transaction: Transaction, declaration: Row[Any], inspection: InspectionRecorded, *, correlation_id: str, source: str
) -> None:
    """Make the agency referred to required on the declaration, and tell it with the declaration whole."""
    referred_to = inspection.referred_to
    assert referred_to is not None
    already = referred_to in declaration.required_agencies
    required = list(declaration.required_agencies) if already else [*declaration.required_agencies, referred_to]
    if not already:
        await repository.set_required_agencies(transaction.connection, declaration.id, required)
    detail = {"referred_to": referred_to, "inspection_id": inspection.inspection_id, "required_agencies": required}
    at = inspection.recorded_at
    await repository.add_to_timeline(
        transaction.connection, declaration.id, at, "referred", detail, agency=inspection.agency
    )
    referred = DeclarationReferred(
        declaration_id=declaration.id,
        version=declaration.version,
        declaration=Declaration.model_validate(declaration.body),
        referred_to=referred_to,
        already_required=already,
        referred_by=inspection.agency,
        inspection_id=inspection.inspection_id,
        findings=inspection.findings,
        required_agencies=required,
        routing_version=declaration.routing_version,
        submitted_at=declaration.submitted_at,
        referred_at=at,
    )
    await transaction.publish(Envelope(data=referred, source=source, correlation_id=correlation_id, time=at))


async def _more_due_after_correction(connection: AsyncConnection, declaration: Row[Any]) -> bool:
    """True when a post-clearance correction of the released declaration made customs assess more duty."""
    if declaration.status != ClearanceStatus.RELEASED.value:
        return False
    return any(
        row.assessment and row.assessment.get("difference") and Decimal(row.assessment["difference"]) > 0
        for row in await repository.corrections_of(connection, declaration.id)
    )


async def _payment(connection: AsyncConnection, declaration_id: str, reference: str) -> Row[Any] | None:
    query = select(payments).where(payments.c.declaration_id == declaration_id, payments.c.reference == reference)
    return (await connection.execute(query)).first()


def _same_payment(existing: Row[Any], amount: Amount) -> Row[Any]:
    if (Decimal(existing.amount), existing.currency) != (amount.value, amount.currency):
        raise Conflict(
            f"payment reference {existing.reference!r} was already recorded for {existing.amount} {existing.currency}",
            field="reference",
        )
    return existing
