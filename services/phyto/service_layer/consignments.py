"""Joining declarations and certificates, whichever arrives first, and publishing phyto decisions."""

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.certificate import Certificate, CertificateStatus
from services.contract.cloudevents import Envelope, output_event_id
from services.contract.consumer import PermanentEventError
from services.contract.declaration import PHYTOSANITARY_CERTIFICATE, Declaration
from services.contract.dumped import json_text
from services.contract.events import (
    AgencyDecisionMade,
    AlertCode,
    AlertRaised,
    CertificateReceived,
    DeclarationAmended,
    DeclarationCancelled,
    DeclarationReferred,
    DeclarationSubmitted,
    InspectionRecorded,
    Outcome,
)
from services.contract.outbox import Transaction
from services.phyto.adapters import repository
from services.phyto.domain.assessment import PhytoAssessment, PhytoRules, assess
from services.phyto.domain.inspections import after_inspection, after_referral

AGENCY = "phyto"
log = logging.getLogger(__name__)


def _cited(declaration: Declaration) -> set[str]:
    return {doc.id for doc in declaration.referenced_documents(PHYTOSANITARY_CERTIFICATE)}


async def _assess(
    connection: AsyncConnection,
    rules: PhytoRules,
    declaration_id: str,
    declaration: Declaration,
    *,
    lodged_at: datetime | None,
    now: datetime,
) -> PhytoAssessment:
    """Certificates are dated against the lodgement; rows kept before phyto recorded it count from now."""
    certificates = await repository.certificates_by_number(connection, _cited(declaration), declaration.export_country)
    return assess(rules, declaration_id, declaration, certificates, lodged_at=lodged_at or now, now=now)


async def _locked(
    connection: AsyncConnection, declaration_id: str, declaration: Declaration
) -> tuple[Row[Any] | None, set[str]]:
    """What phyto holds of the declaration, and the numbers it cites now, with every certificate number it
    cites (now or before) locked: a certificate arriving meanwhile waits for this transaction."""
    numbers = _cited(declaration)
    stored = await repository.declaration(connection, declaration_id)
    old_numbers = set() if stored is None else _cited(Declaration.model_validate(stored.body))
    await repository.lock_certificate_numbers(connection, numbers | old_numbers)
    return stored, numbers


async def _keep(
    connection: AsyncConnection,
    envelope: Envelope,
    stored: Row[Any] | None,
    declaration_id: str,
    version: int,
    body: dict[str, Any],
    numbers: set[str],
    lodged_at: datetime,
) -> None:
    """Store a declaration phyto does not hold yet, or a later version of one it holds."""
    if stored is None:
        await repository.save_declaration(
            connection,
            declaration_id=declaration_id,
            version=version,
            body=body,
            correlation_id=envelope.correlation_id,
            numbers=numbers,
            lodged_at=lodged_at,
        )
    else:
        await repository.save_version(
            connection, declaration_id=declaration_id, version=version, body=body, numbers=numbers
        )


def _details(assessment: PhytoAssessment, mismatches: list[dict[str, Any]]) -> dict[str, Any]:
    details: dict[str, Any] = {"mismatches": mismatches, "awaited_certificates": list(assessment.awaited)}
    if assessment.inspection is not None:
        details["inspection"] = {
            "rate": str(assessment.inspection.rate),
            "high_risk": assessment.inspection.high_risk,
            "selected": assessment.inspection.selected,
        }
    return details


def _decided(
    *,
    event_id: str,
    declaration_id: str,
    version: int,
    sequence: int,
    assessment: PhytoAssessment,
    rules: PhytoRules,
    correlation_id: str,
    now: datetime,
) -> tuple[dict[str, Any], Envelope]:
    """A decision's row and its event."""
    reasons = [reason.model_dump() for reason in assessment.reasons]
    mismatches = [asdict(mismatch) for mismatch in assessment.mismatches]
    row = {
        "event_id": event_id,
        "declaration_id": declaration_id,
        "declaration_version": version,
        "sequence": sequence,
        "outcome": assessment.outcome.value,
        "reasons": reasons,
        "mismatches": mismatches,
        "requirements_version": rules.version,
        "decided_at": now,
    }
    decision = AgencyDecisionMade(
        agency=AGENCY,
        declaration_id=declaration_id,
        declaration_version=version,
        sequence=sequence,
        outcome=assessment.outcome,
        reasons=list(assessment.reasons),
        details=_details(assessment, mismatches),
        rules_version=rules.version,
        decided_at=now,
    )
    return row, Envelope(data=decision, source=AGENCY, correlation_id=correlation_id, id=event_id, time=now)


def _logged(row: dict[str, Any], event: Envelope) -> None:
    """A decision taken: its outcome and reasons in the log."""
    log.info(
        "declaration %s: %s (decision %d)%s",
        row["declaration_id"],
        row["outcome"],
        row["sequence"],
        "".join(f"; {reason['code']}" for reason in row["reasons"]),
        extra={"correlation_id": event.correlation_id},
    )


async def _publish(transaction: Transaction, decided: tuple[dict[str, Any], Envelope]) -> None:
    """Record a decision (`_decided`) as the declaration's latest, and publish it."""
    row, event = decided
    await repository.record_decision(transaction.connection, row)
    await transaction.publish(event)
    _logged(row, event)


async def decide_lodgements(
    transaction: Transaction, lodgements: list[Envelope], *, rules: PhytoRules, now: datetime
) -> list[Envelope]:
    """Decide first lodgements routed to phyto of declarations it does not hold yet, all together: a few
    statements whatever their number (the certificates they cite, the declarations, their links and decisions,
    the events). Their declaration ids must differ. Those phyto holds already are returned, for on_declaration
    one at a time."""
    if not lodgements:
        return []
    connection = transaction.connection
    lodged = {envelope.id: _submitted(envelope) for envelope in lodgements}
    holding = await repository.held(connection, [submitted.declaration_id for submitted in lodged.values()])
    fresh = [envelope for envelope in lodgements if lodged[envelope.id].declaration_id not in holding]
    cited = {envelope.id: _cited(lodged[envelope.id].declaration) for envelope in fresh}
    numbers = set().union(*cited.values())
    await repository.lock_certificate_numbers(connection, numbers)
    on_file = await repository.certificate_rows(connection, numbers)
    declaration_rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, str]] = []
    decision_rows: list[dict[str, Any]] = []
    events: list[Envelope] = []
    for envelope in fresh:
        submitted = lodged[envelope.id]
        declaration_id = submitted.declaration_id
        certificates = on_file.certificates(cited[envelope.id], submitted.declaration.export_country)
        assessment = assess(
            rules, declaration_id, submitted.declaration, certificates, lodged_at=submitted.submitted_at, now=now
        )
        row, event = _decided(
            event_id=output_event_id(envelope.id, AGENCY),
            declaration_id=declaration_id,
            version=submitted.version,
            sequence=1,
            assessment=assessment,
            rules=rules,
            correlation_id=envelope.correlation_id,
            now=now,
        )
        declaration_rows.append(
            {
                "declaration_id": declaration_id,
                "version": submitted.version,
                "body": json_text(submitted.declaration),
                "correlation_id": envelope.correlation_id,
                "lodged_at": submitted.submitted_at,
                "outcome": row["outcome"],
                "reasons": row["reasons"],
                "last_sequence": 1,
            }
        )
        link_rows += repository.links(declaration_id, cited[envelope.id])
        decision_rows.append(row)
        events.append(event)
    if events:
        await repository.save_decided(connection, declaration_rows, link_rows, decision_rows)
        await transaction.publish(*events)
    for row, event in zip(decision_rows, events, strict=True):
        _logged(row, event)
    return [envelope for envelope in lodgements if lodged[envelope.id].declaration_id in holding]


def _submitted(envelope: Envelope) -> DeclarationSubmitted:
    submitted = envelope.data
    assert isinstance(submitted, DeclarationSubmitted)
    return submitted


async def on_declaration(transaction: Transaction, envelope: Envelope, *, rules: PhytoRules, now: datetime) -> None:
    """Keep the declaration (or its new version) and decide at once: released, held (waiting or mismatched) or
    not concerned. A version no longer routed to phyto is dropped; a version phyto has seen changes nothing."""
    lodged = envelope.data
    assert isinstance(lodged, DeclarationSubmitted | DeclarationAmended)
    connection = transaction.connection
    stored, numbers = await _locked(connection, lodged.declaration_id, lodged.declaration)
    if stored is not None and stored.version >= lodged.version:
        return
    body = lodged.declaration.model_dump(mode="json")
    if AGENCY not in lodged.required_agencies:
        if stored is not None:
            log.info("declaration %s version %d is no longer routed to phyto", lodged.declaration_id, lodged.version)
            await repository.save_version(
                connection, declaration_id=lodged.declaration_id, version=lodged.version, body=body, numbers=set()
            )
        return
    await _keep(connection, envelope, stored, lodged.declaration_id, lodged.version, body, numbers, lodged.submitted_at)
    lodged_at = lodged.submitted_at if stored is None else stored.lodged_at
    await _publish(
        transaction,
        _decided(
            event_id=output_event_id(envelope.id, AGENCY),
            declaration_id=lodged.declaration_id,
            version=lodged.version,
            sequence=1 if stored is None else stored.last_sequence + 1,
            assessment=await _assess(
                connection, rules, lodged.declaration_id, lodged.declaration, lodged_at=lodged_at, now=now
            ),
            rules=rules,
            correlation_id=envelope.correlation_id,
            now=now,
        ),
    )


async def on_cancelled(transaction: Transaction, envelope: Envelope) -> None:
    """A cancelled declaration is not decided on again, whatever certificates arrive."""
    cancelled = envelope.data
    assert isinstance(cancelled, DeclarationCancelled)
    await repository.unlink(transaction.connection, cancelled.declaration_id)


async def on_certificate(transaction: Transaction, envelope: Envelope, *, rules: PhytoRules, now: datetime) -> None:
    """Keep the certificate and decide again on every declaration relying on it whose answer changes: those citing
    its number and, for a replacement, those citing a certificate it replaces. A consignment phyto had released
    whose answer is no longer a release (its certificate withdrawn, or replaced by one that does not match) also
    raises an alert: a release is final, and someone must find the goods."""
    received = envelope.data
    assert isinstance(received, CertificateReceived)
    connection = transaction.connection
    certificate = received.certificate
    replaced = await repository.replaced_numbers(connection, certificate)
    await repository.lock_certificate_numbers(connection, [certificate.number, *replaced])
    await repository.store_certificate(connection, received.certificate_id, certificate, now)
    citing = await repository.declarations_citing_any(connection, [certificate.number, *replaced])
    relying = {row.declaration_id: row for rows in citing.values() for row in rows}
    for declaration_id, row in sorted(relying.items()):
        declaration = Declaration.model_validate(row.body)
        assessment = await _assess(connection, rules, declaration_id, declaration, lodged_at=row.lodged_at, now=now)
        if _unreleased(row.outcome, assessment):
            await _raise_alert(transaction, envelope, row, certificate, assessment, now=now)
        if not _changes(row, row.outcome, row.reasons, assessment):
            continue
        await _publish(
            transaction,
            _decided(
                event_id=output_event_id(envelope.id, AGENCY, discriminator=declaration_id),
                declaration_id=declaration_id,
                version=row.version,
                sequence=row.last_sequence + 1,
                assessment=assessment,
                rules=rules,
                correlation_id=row.correlation_id,
                now=now,
            ),
        )


def _unreleased(outcome: str, assessment: PhytoAssessment) -> bool:
    """A consignment phyto had released that would not be released now."""
    return outcome == Outcome.RELEASED.value and assessment.outcome is not Outcome.RELEASED


def _changes(row: Row[Any], outcome: str, reasons: list[dict[str, Any]], assessment: PhytoAssessment) -> bool:
    """Whether a new assessment of a declaration phyto holds is a new decision: not once an officer's result
    settled the version, nor when outcome and reasons stay as they are."""
    if row.inspection is not None:
        return False
    return assessment.outcome.value != outcome or [reason.model_dump() for reason in assessment.reasons] != reasons


async def take_in_certificates(
    transaction: Transaction, envelopes: list[Envelope], *, rules: PhytoRules, now: datetime
) -> bool:
    """Keep certificates phyto does not hold yet, none a replacement, and decide again on the declarations relying
    on them, all together in a few statements whatever their number, with the decisions on_certificate would take
    one certificate after the other (each sees the certificates before it, not those after). Their (country,
    number) must differ. False, with nothing done, when one of them is stored already or would raise an alert:
    on_certificate then takes them one at a time."""
    connection = transaction.connection
    received = [_received(envelope) for envelope in envelopes]
    assert not any(taken.certificate.replaced_certificate_number for taken in received)
    numbers = {taken.certificate.number for taken in received}
    keys = {(taken.certificate.issuing_country, taken.certificate.number) for taken in received}
    if await repository.stored_keys(connection, numbers) & keys:
        return False
    await repository.lock_certificate_numbers(connection, numbers)
    citing = await repository.declarations_citing_any(connection, numbers)
    relying = {row.declaration_id: row for rows in citing.values() for row in rows}
    declared = {declaration_id: Declaration.model_validate(row.body) for declaration_id, row in relying.items()}
    cited = {declaration_id: _cited(declaration) for declaration_id, declaration in declared.items()}
    on_file = await repository.certificate_rows(connection, set().union(*cited.values()))
    standing = {key: (row.outcome, row.reasons, row.last_sequence) for key, row in relying.items()}
    kept, decision_rows, events = [], [], []
    for envelope, taken in zip(envelopes, received, strict=True):
        row = repository.kept(taken.certificate_id, taken.certificate, now)
        kept.append(row)
        stored = repository.Kept(row["id"], row["issuing_country"], row["number"], row["replaces"], row["body"].text)
        on_file.add(stored, taken.certificate)
        for held in citing.get(taken.certificate.number, []):
            key = held.declaration_id
            certificates = on_file.certificates(cited[key], declared[key].export_country)
            lodged_at = held.lodged_at or now
            assessment = assess(rules, key, declared[key], certificates, lodged_at=lodged_at, now=now)
            outcome, reasons, sequence = standing[key]
            if _unreleased(outcome, assessment):
                return False
            if not _changes(held, outcome, reasons, assessment):
                continue
            decision, event = _decided(
                event_id=output_event_id(envelope.id, AGENCY, discriminator=key),
                declaration_id=key,
                version=held.version,
                sequence=sequence + 1,
                assessment=assessment,
                rules=rules,
                correlation_id=held.correlation_id,
                now=now,
            )
            standing[key] = (decision["outcome"], decision["reasons"], decision["sequence"])
            decision_rows.append(decision)
            events.append(event)
    await repository.store_certificates(connection, kept)
    if decision_rows:
        await repository.record_decisions(connection, decision_rows)
        await transaction.publish(*events)
    for decision, event in zip(decision_rows, events, strict=True):
        _logged(decision, event)
    return True


def _received(envelope: Envelope) -> CertificateReceived:
    received = envelope.data
    assert isinstance(received, CertificateReceived)
    return received


async def _raise_alert(
    transaction: Transaction,
    envelope: Envelope,
    row: Row[Any],
    certificate: Certificate,
    assessment: PhytoAssessment,
    *,
    now: datetime,
) -> None:
    withdrawn = certificate.status is CertificateStatus.WITHDRAWN
    if withdrawn:
        code, happened = (
            AlertCode.CERTIFICATE_WITHDRAWN_AFTER_RELEASE,
            f"certificate {certificate.number} was withdrawn",
        )
    else:
        code = AlertCode.CERTIFICATE_REPLACED_AFTER_RELEASE
        happened = f"certificate {certificate.replaced_certificate_number} was replaced by {certificate.number}" + (
            f" ({certificate.replacement_reason})" if certificate.replacement_reason else ""
        )
    alert = AlertRaised(
        alert_id=output_event_id(envelope.id, f"{AGENCY}-alert", discriminator=row.declaration_id),
        agency=AGENCY,
        declaration_id=row.declaration_id,
        declaration_version=row.version,
        code=code,
        text=f"released by plant health, then {happened}: {assessment.outcome.value} now"[:512],
        certificate_number=certificate.number,
        reasons=list(assessment.reasons),
        raised_at=now,
    )
    log.warning(
        "declaration %s: %s after release",
        row.declaration_id,
        code.value,
        extra={"declaration_id": row.declaration_id, "certificate_number": certificate.number},
    )
    await transaction.publish(
        Envelope(data=alert, source=AGENCY, correlation_id=row.correlation_id, id=alert.alert_id, time=now)
    )


async def on_inspection(transaction: Transaction, envelope: Envelope, *, rules: PhytoRules, now: datetime) -> None:
    """A plant-health officer's result becomes phyto's decision on the version inspected; a later result on the
    same version (the release of treated goods) becomes the next decision."""
    recorded = envelope.data
    assert isinstance(recorded, InspectionRecorded)
    connection = transaction.connection
    row = await repository.declaration(connection, recorded.declaration_id)
    if row is None:
        raise PermanentEventError(f"inspection {recorded.inspection_id}: phyto holds no declaration it concerns")
    await repository.lock_certificate_numbers(connection, _cited(Declaration.model_validate(row.body)))
    if row.version != recorded.declaration_version:
        log.warning(
            "inspection %s of version %d not acted on: declaration %s is at version %d",
            recorded.inspection_id,
            recorded.declaration_version,
            recorded.declaration_id,
            row.version,
        )
        return
    kept = {"inspection_id", "result", "findings", "referred_to", "officer", "pests_found", "action", "treatment"}
    await repository.record_inspection(
        connection, recorded.declaration_id, recorded.model_dump(mode="json", include=kept)
    )
    await _publish(
        transaction,
        _decided(
            event_id=output_event_id(envelope.id, AGENCY),
            declaration_id=recorded.declaration_id,
            version=row.version,
            sequence=row.last_sequence + 1,
            assessment=after_inspection(
                recorded.result,
                recorded.officer,
                recorded.findings,
                recorded.referred_to,
                pests_found=recorded.pests_found,
                action=recorded.action,
                treatment=recorded.treatment,
            ),
            rules=rules,
            correlation_id=envelope.correlation_id,
            now=now,
        ),
    )


async def on_referral(transaction: Transaction, envelope: Envelope, *, rules: PhytoRules, now: datetime) -> None:
    """Goods referred to plant health by another agency's officer: phyto keeps the version (it may not have
    been routed here) and holds it for a plant-health officer, whose result alone moves it on."""
    referred = envelope.data
    assert isinstance(referred, DeclarationReferred)
    connection = transaction.connection
    stored, numbers = await _locked(connection, referred.declaration_id, referred.declaration)
    if stored is not None and stored.version > referred.version:
        log.warning(
            "referral %s of version %d not acted on: declaration %s is at version %d",
            referred.inspection_id,
            referred.version,
            referred.declaration_id,
            stored.version,
        )
        return
    if stored is None or stored.version < referred.version:
        body = referred.declaration.model_dump(mode="json")
        lodged_at = referred.submitted_at
        await _keep(connection, envelope, stored, referred.declaration_id, referred.version, body, numbers, lodged_at)
    referral = referred.model_dump(mode="json", include={"inspection_id", "referred_by", "findings"})
    await repository.record_inspection(connection, referred.declaration_id, {"referral": referral})
    await _publish(
        transaction,
        _decided(
            event_id=output_event_id(envelope.id, AGENCY),
            declaration_id=referred.declaration_id,
            version=referred.version,
            sequence=1 if stored is None else stored.last_sequence + 1,
            assessment=after_referral(referred.referred_by, referred.findings),
            rules=rules,
            correlation_id=envelope.correlation_id,
            now=now,
        ),
    )
