"""Turning stored rows into the read models GET returns."""

from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.certificate import Certificate
from services.contract.declaration import Declaration
from services.contract.events import ClearanceState, ClearanceStatus, Reason
from services.gateway.adapters import repository
from services.gateway.domain.clearance import join, latest_decisions
from services.gateway.domain.release_times import release_times
from services.gateway.entrypoints.schemas import (
    AgencyDecisionRead,
    AlertRead,
    ArrivalRead,
    CertificateRead,
    ClearanceRead,
    CorrectionAssessmentRead,
    CorrectionRead,
    DeclarationRead,
    ReleaseRead,
    TimelineEntry,
    VersionRead,
)
from services.gateway.service_layer import arrivals
from services.gateway.service_layer.declarations import Lodged


async def declaration_view(
    connection: AsyncConnection, row: Row[Any], declaration: Declaration | None = None
) -> DeclarationRead:
    """The declaration of `row` with its decisions, timeline, versions, corrections, alerts and release, as
    stored; `declaration` is its body when the caller already holds it parsed."""
    entries = await repository.timeline_of(connection, row.id)
    return _assembled(
        row,
        declaration or Declaration.model_validate(row.body),
        recorded=await repository.decisions_of(connection, row.id),
        entries=entries,
        versions=await repository.versions_of(connection, row.id),
        corrections=await repository.corrections_of(connection, row.id),
        alerts=await repository.alerts_of(connection, row.id),
        arrival=await arrivals.arrival_of(connection, row.id),
    )


def lodged_view(lodged: Lodged) -> DeclarationRead:
    """The view of a declaration in the transaction that lodged it, from the rows written: no decision,
    correction, alert or arrival can exist yet."""
    assert lodged.first_version is not None, "a resubmission is read back, not assembled"
    assert lodged.submitted is not None, "a new declaration has its submitted entry"
    return _assembled(
        lodged.row,
        lodged.declaration,
        recorded=[],
        entries=[lodged.submitted],
        versions=[lodged.first_version],
        corrections=[],
        alerts=[],
        arrival=None,
    )


def _assembled(
    row: Row[Any],
    declaration: Declaration,
    *,
    recorded: list[repository.RecordedDecision],
    entries: list[Row[Any]],
    versions: list[Row[Any]],
    corrections: list[Row[Any]],
    alerts: list[Row[Any]],
    arrival: Row[Any] | None,
) -> DeclarationRead:
    # Each agency's standing, from the same join that decided the stored status.
    standings = join(
        row.required_agencies, latest_decisions((item.decision for item in recorded), row.version)
    ).agencies
    return DeclarationRead(
        id=row.id,
        lrn=row.lrn,
        version=row.version,
        required_agencies=row.required_agencies,
        routing_version=row.routing_version,
        clearance=ClearanceRead(
            status=ClearanceStatus(row.status),
            state=ClearanceState(row.state),
            reasons=[Reason.model_validate(reason) for reason in row.status_reasons],
            agencies=list(standings),
        ),
        decisions=[
            AgencyDecisionRead(
                event_id=item.event_id,
                agency=item.decision.agency,
                declaration_version=item.decision.declaration_version,
                sequence=item.decision.sequence,
                outcome=item.decision.outcome,
                reasons=list(item.decision.reasons),
                details=item.details,
                rules_version=item.rules_version,
                decided_at=item.decided_at,
            )
            for item in recorded
        ],
        timeline=[
            TimelineEntry(at=entry.at, kind=entry.kind, agency=entry.agency, detail=entry.detail) for entry in entries
        ],
        versions=[
            VersionRead(version=entry.version, changed=entry.changed, lodged_at=entry.lodged_at) for entry in versions
        ],
        corrections=[correction_view(entry) for entry in corrections],
        alerts=[
            AlertRead(
                alert_id=alert.alert_id,
                agency=alert.agency,
                declaration_version=alert.declaration_version,
                code=alert.code,
                text=alert.text,
                certificate_number=alert.certificate_number,
                reasons=[Reason.model_validate(reason) for reason in alert.reasons],
                raised_at=alert.raised_at,
            )
            for alert in alerts
        ],
        release=release_view(row, arrival, entries),
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        declaration=declaration,
    )


def correction_view(row: Row[Any]) -> CorrectionRead:
    return CorrectionRead(
        id=row.id,
        declaration_id=row.declaration_id,
        number=row.number,
        released_version=row.released_version,
        changed=row.changed,
        reason=row.reason,
        recorded_at=row.recorded_at,
        assessment=CorrectionAssessmentRead.model_validate(row.assessment) if row.assessment else None,
        assessed_at=row.assessed_at,
    )


def certificate_view(row: Row[Any], certificate: Certificate | None = None) -> CertificateRead:
    """The stored certificate of `row`; `certificate` is its body when the caller holds it parsed."""
    return CertificateRead(
        id=row.id,
        issuing_country=row.issuing_country,
        number=row.number,
        received_at=row.received_at,
        certificate=certificate or Certificate.model_validate(row.body),
    )


def release_view(declaration: Row[Any], arrival: Row[Any] | None, timeline: list[Row[Any]]) -> ReleaseRead:
    released_at = next(
        (entry.at for entry in timeline if entry.kind == "clearance" and entry.detail["status"] == "released"), None
    )
    arrived_at = arrival.arrived_at if arrival is not None else None
    times = release_times(declaration.submitted_at, arrived_at, released_at)
    return ReleaseRead(
        arrived_at=arrived_at,
        released_at=released_at,
        from_lodgement_seconds=times.from_lodgement.total_seconds() if times.from_lodgement is not None else None,
        from_arrival_seconds=times.from_arrival.total_seconds() if times.from_arrival is not None else None,
    )


async def arrival_view(connection: AsyncConnection, arrival: Row[Any], declaration: Row[Any]) -> ArrivalRead:
    timeline = await repository.timeline_of(connection, declaration.id)
    return ArrivalRead(
        declaration_id=arrival.declaration_id,
        location=arrival.location,
        transport_reference=arrival.transport_reference,
        reported_by=arrival.reported_by,
        arrived_at=arrival.arrived_at,
        status=ClearanceStatus(declaration.status),
        state=ClearanceState(declaration.state),
        release=release_view(declaration, arrival, timeline),
    )
