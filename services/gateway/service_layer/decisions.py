"""Recording agency decisions and deciding the single-window status."""

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.consumer import PermanentEventError
from services.contract.events import AgencyDecisionMade, ClearanceDecided, ClearanceState
from services.contract.metrics import AGENCY_DECISIONS, CLEARANCE_DECISIONS, TIME_TO_DECISION, TIME_TO_RELEASE
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.domain.clearance import Clearance, advance
from services.gateway.service_layer import arrivals, notifications

log = logging.getLogger(__name__)


async def record(transaction: Transaction, envelope: Envelope, *, now: datetime, source: str) -> None:
    """Keep the decision, recompute the single-window status, publish ClearanceDecided when it changed."""
    connection = transaction.connection
    made = envelope.data
    assert isinstance(made, AgencyDecisionMade)
    row = await repository.declaration_by_id(connection, made.declaration_id)
    if row is None:
        raise PermanentEventError(f"decision for unknown declaration {made.declaration_id}")
    await repository.insert_decision(
        connection,
        {
            "event_id": envelope.id,
            "declaration_id": made.declaration_id,
            "agency": made.agency,
            "declaration_version": made.declaration_version,
            "sequence": made.sequence,
            "outcome": made.outcome.value,
            "reasons": [r.model_dump() for r in made.reasons],
            "details": made.details,
            "rules_version": made.rules_version,
            "decided_at": made.decided_at,
            "received_at": now,
        },
    )
    lodged_at = row.submitted_at  # version 1 is lodged at submission: no need to read it
    if made.declaration_version > 1:
        version = await repository.version_of(connection, made.declaration_id, made.declaration_version)
        lodged_at = version.lodged_at if version is not None else row.submitted_at
    waited = (now - lodged_at).total_seconds()
    lane = str(made.details.get("lane") or "none")
    transaction.after_commit(lambda: _count_decision(made, lane, waited))
    await repository.add_to_timeline(
        connection,
        made.declaration_id,
        now,
        "agency_decision",
        {"outcome": made.outcome.value, "sequence": made.sequence, "reasons": [r.model_dump() for r in made.reasons]},
        agency=made.agency,
    )
    if made.agency not in row.required_agencies:
        log.warning("decision from %s, which is not required for %s: recorded, not joined", made.agency, row.id)
        return
    recorded = await repository.decisions_of(connection, made.declaration_id)
    clearance = advance(
        ClearanceState(row.state), row.required_agencies, (item.decision for item in recorded), row.version
    )
    if clearance is None:
        log.info("decision from %s on %s declaration %s: recorded, not joined", made.agency, row.state, row.id)
        return
    await publish_clearance(
        transaction,
        row,
        clearance,
        now=now,
        source=source,
        correlation_id=envelope.correlation_id,
        event_id=output_event_id(envelope.id, source),
    )


async def publish_clearance(
    transaction: Transaction,
    row: Row[Any],
    clearance: Clearance,
    *,
    now: datetime,
    source: str,
    correlation_id: str,
    event_id: str,
    always: bool = False,
) -> None:
    """Store the single-window state and publish the transition as ClearanceDecided when it differs from the
    stored one (or `always`: a new version's state is news even when it reads the same)."""
    reasons = [reason.model_dump() for reason in clearance.reasons]
    if not always and clearance.state.value == row.state and reasons == row.status_reasons:
        return
    await repository.set_state(transaction.connection, row.id, clearance.state, reasons, now)
    transaction.after_commit(lambda: _count_clearance(clearance.state, (now - row.submitted_at).total_seconds()))
    await repository.add_to_timeline(
        transaction.connection,
        row.id,
        now,
        "clearance",
        {"status": clearance.status.value, "state": clearance.state.value, "reasons": reasons},
    )
    arrival = await arrivals.arrival_of(transaction.connection, row.id)
    await notifications.clearance_changed(transaction.connection, row, arrival, clearance, now)
    log.info("clearance of %s is now %s", row.id, clearance.state.value)
    decided = ClearanceDecided(
        declaration_id=row.id,
        declaration_version=row.version,
        status=clearance.status,
        state=clearance.state,
        agencies=list(clearance.agencies),
        reasons=list(clearance.reasons),
        decided_at=now,
    )
    await transaction.publish(
        Envelope(data=decided, source=source, correlation_id=correlation_id, id=event_id, time=now)
    )


def _count_decision(made: AgencyDecisionMade, lane: str, waited_seconds: float) -> None:
    AGENCY_DECISIONS.labels(made.agency, made.outcome.value, lane).inc()
    TIME_TO_DECISION.labels(made.agency).observe(max(0.0, waited_seconds))


def _count_clearance(state: ClearanceState, since_lodgement_seconds: float) -> None:
    CLEARANCE_DECISIONS.labels(state.value).inc()
    if state is ClearanceState.RELEASED:
        TIME_TO_RELEASE.observe(max(0.0, since_lodgement_seconds))
