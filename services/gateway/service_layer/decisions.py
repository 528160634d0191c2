"""Recording agency decisions and deciding the single-window status."""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Row

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.consumer import PermanentEventError
from services.contract.events import AgencyDecisionMade, ClearanceDecided, ClearanceState
from services.contract.metrics import AGENCY_DECISIONS, CLEARANCE_DECISIONS, TIME_TO_DECISION, TIME_TO_RELEASE
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.domain.clearance import Clearance, advance
from services.gateway.domain.notifications import clearance_notices
from services.gateway.service_layer import arrivals, audit, notifications
from services.gateway.service_layer.notifications import consignment

log = logging.getLogger(__name__)


async def record(transaction: Transaction, envelope: Envelope, *, now: datetime, source: str) -> None:
    """Keep the decision, recompute the single-window status, publish ClearanceDecided when it changed."""
    await record_together(transaction, [envelope], now=now, source=source)


async def record_together(transaction: Transaction, envelopes: list[Envelope], *, now: datetime, source: str) -> None:
    """Decisions on different declarations, each kept and joined as `record` would one after the other, in a few
    statements whatever their number. A decision on a declaration the gateway does not hold refuses them all."""
    connection = transaction.connection
    made = [_made(envelope) for envelope in envelopes]
    rows = await repository.declarations_for_update(connection, [decision.declaration_id for decision in made])
    for decision in made:
        if decision.declaration_id not in rows:
            raise PermanentEventError(f"decision for unknown declaration {decision.declaration_id}")
    await audit.on_consumed(connection, *envelopes)
    await repository.insert_decisions(
        connection, [_decision_row(envelope, decision, now) for envelope, decision in zip(envelopes, made, strict=True)]
    )
    entries = []
    for decision in made:
        row = rows[decision.declaration_id]
        lodged_at = row.submitted_at  # version 1 is lodged at submission: no need to read it
        if decision.declaration_version > 1:
            version = await repository.version_of(connection, decision.declaration_id, decision.declaration_version)
            lodged_at = version.lodged_at if version is not None else row.submitted_at
        lane = str(decision.details.get("lane") or "none")
        transaction.after_commit(partial(_count_decision, decision, lane, (now - lodged_at).total_seconds()))
        reasons = [reason.model_dump() for reason in decision.reasons]
        detail = {"outcome": decision.outcome.value, "sequence": decision.sequence, "reasons": reasons}
        entries.append(_entry(decision.declaration_id, now, "agency_decision", detail, agency=decision.agency))
    await repository.add_to_timelines(connection, entries)
    joined = []
    for envelope, decision in zip(envelopes, made, strict=True):
        if decision.agency in rows[decision.declaration_id].required_agencies:
            joined.append((envelope, decision))
        else:
            log.warning(
                "decision from %s, which is not required for %s: recorded, not joined",
                decision.agency,
                decision.declaration_id,
                extra={"correlation_id": envelope.correlation_id},  # a batch runs in no one event's context
            )
    recorded = await repository.decisions_of_each(connection, [decision.declaration_id for _, decision in joined])
    changes = []
    for envelope, decision in joined:
        row = rows[decision.declaration_id]
        decisions = (item.decision for item in recorded.get(row.id, []))
        clearance = advance(ClearanceState(row.state), row.required_agencies, decisions, row.version)
        if clearance is None:
            log.info(
                "decision from %s on %s declaration %s: recorded, not joined",
                decision.agency,
                row.state,
                row.id,
                extra={"correlation_id": envelope.correlation_id},
            )
            continue
        changes.append(Change(row, clearance, envelope.correlation_id, output_event_id(envelope.id, source)))
    await publish_clearances(transaction, changes, now=now, source=source)


@dataclass(frozen=True)
class Change:
    """A single-window state a declaration may move to, and the event that would say so."""

    row: Row[Any]
    clearance: Clearance
    correlation_id: str
    event_id: str


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
    change = Change(row, clearance, correlation_id, event_id)
    await publish_clearances(transaction, [change], now=now, source=source, always=always)


async def publish_clearances(
    transaction: Transaction, changes: list[Change], *, now: datetime, source: str, always: bool = False
) -> None:
    """`publish_clearance` for declarations that differ, in a few statements whatever their number."""
    connection = transaction.connection
    due = []
    for change in changes:
        reasons = [reason.model_dump() for reason in change.clearance.reasons]
        if always or change.clearance.state.value != change.row.state or reasons != change.row.status_reasons:
            due.append((change, reasons))
    if not due:
        return
    await repository.set_states(
        connection, [(change.row.id, change.clearance.state, reasons) for change, reasons in due], now
    )
    arrivals_of = await arrivals.arrivals_of(connection, [change.row.id for change, _ in due])
    entries, notices, events = [], [], []
    for change, reasons in due:
        row, clearance = change.row, change.clearance
        since_lodgement = (now - row.submitted_at).total_seconds()
        transaction.after_commit(partial(_count_clearance, clearance.state, since_lodgement))
        detail = {"status": clearance.status.value, "state": clearance.state.value, "reasons": reasons}
        entries.append(_entry(row.id, now, "clearance", detail))
        notices += clearance_notices(consignment(row, arrivals_of.get(row.id)), clearance, now)
        log.info(
            "clearance of %s is now %s", row.id, clearance.state.value, extra={"correlation_id": change.correlation_id}
        )
        decided = ClearanceDecided(
            declaration_id=row.id,
            declaration_version=row.version,
            status=clearance.status,
            state=clearance.state,
            agencies=list(clearance.agencies),
            reasons=list(clearance.reasons),
            decided_at=now,
        )
        events.append(
            Envelope(data=decided, source=source, correlation_id=change.correlation_id, id=change.event_id, time=now)
        )
    await repository.add_to_timelines(connection, entries)
    await notifications.send(connection, notices, now)
    await transaction.publish(*events)


def _made(envelope: Envelope) -> AgencyDecisionMade:
    made = envelope.data
    assert isinstance(made, AgencyDecisionMade)
    return made


def _decision_row(envelope: Envelope, made: AgencyDecisionMade, now: datetime) -> dict[str, Any]:
    return {
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
    }


def _entry(
    declaration_id: str, at: datetime, kind: str, detail: dict[str, Any], agency: str | None = None
) -> dict[str, Any]:
    return {"declaration_id": declaration_id, "at": at, "kind": kind, "agency": agency, "detail": detail}


def _count_decision(made: AgencyDecisionMade, lane: str, waited_seconds: float) -> None:
    AGENCY_DECISIONS.labels(made.agency, made.outcome.value, lane).inc()
    TIME_TO_DECISION.labels(made.agency).observe(max(0.0, waited_seconds))


def _count_clearance(state: ClearanceState, since_lodgement_seconds: float) -> None:
    CLEARANCE_DECISIONS.labels(state.value).inc()
    if state is ClearanceState.RELEASED:
        TIME_TO_RELEASE.observe(max(0.0, since_lodgement_seconds))
