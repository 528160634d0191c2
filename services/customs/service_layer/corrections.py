"""Assessing a post-clearance correction: the duties on the released declaration against the corrected one."""

import logging
from datetime import datetime

from sqlalchemy import insert

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.consumer import PermanentEventError
from services.contract.declaration import Declaration
from services.contract.events import CorrectionAssessed, DeclarationCorrected, DutyTotals
from services.contract.outbox import Transaction
from services.customs.adapters.orm import corrections
from services.customs.domain.corrections import assess_correction
from services.customs.domain.duties import DutyAssessment
from services.customs.domain.rulebook import Rulebook
from services.customs.service_layer.declarations import AGENCY, stored_declaration

log = logging.getLogger(__name__)


async def assess(transaction: Transaction, envelope: Envelope, *, rulebook: Rulebook, now: datetime) -> None:
    corrected = envelope.data
    assert isinstance(corrected, DeclarationCorrected)
    connection = transaction.connection
    stored = await stored_declaration(connection, corrected.declaration_id)
    if stored is None or stored.version != corrected.released_version:
        held = "nothing" if stored is None else f"version {stored.version}"
        raise PermanentEventError(
            f"correction {corrected.correction_id} is of version {corrected.released_version} of declaration "
            f"{corrected.declaration_id}, customs holds {held}"
        )
    released = Declaration.model_validate(stored.declaration)
    outcome = assess_correction(rulebook, released, corrected.declaration, stored.submitted_at.date())
    details = {
        "versions": rulebook.versions,
        "before": outcome.before.as_details() if outcome.before else None,
        "after": outcome.after.as_details() if outcome.after else None,
    }
    await connection.execute(
        insert(corrections).values(
            correction_id=corrected.correction_id,
            declaration_id=corrected.declaration_id,
            number=corrected.number,
            released_version=corrected.released_version,
            declaration=corrected.declaration.model_dump(mode="json"),
            accepted=outcome.accepted,
            difference=None if outcome.difference is None else str(outcome.difference),
            details=details,
            assessed_at=now,
        )
    )
    event = CorrectionAssessed(
        agency=AGENCY,
        declaration_id=corrected.declaration_id,
        correction_id=corrected.correction_id,
        accepted=outcome.accepted,
        reasons=outcome.reasons,
        before=_totals(outcome.before),
        after=_totals(outcome.after),
        difference=outcome.difference,
        details=details,
        rules_version=rulebook.profile.version,
        assessed_at=now,
    )
    log.info(
        "correction %d of declaration %s: %s",
        corrected.number,
        corrected.declaration_id,
        "; ".join(f"{reason.code} {reason.text}" for reason in outcome.reasons),
    )
    event_id = output_event_id(envelope.id, AGENCY)
    await transaction.publish(
        Envelope(data=event, source=AGENCY, correlation_id=envelope.correlation_id, id=event_id, time=now)
    )


def _totals(duties: DutyAssessment | None) -> DutyTotals | None:
    if duties is None:
        return None
    return DutyTotals(currency=duties.currency, duty=duties.duty, vat=duties.vat, total=duties.total)
