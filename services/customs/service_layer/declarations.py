"""Deciding on a submitted declaration: risk assessment, lane, and the customs decision event."""

import logging
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, insert, select

from services.contract.cloudevents import Envelope, output_event_id
from services.contract.events import AgencyDecisionMade, DeclarationSubmitted, Reason
from services.contract.outbox import Transaction
from services.customs.adapters.orm import decisions
from services.customs.domain.lanes import Lane
from services.customs.domain.risk import RiskProfile, assess

AGENCY = "customs"
log = logging.getLogger(__name__)


async def decide(transaction: Transaction, envelope: Envelope, *, profile: RiskProfile, now: datetime) -> None:
    submitted = envelope.data
    assert isinstance(submitted, DeclarationSubmitted)
    assessment = assess(profile, submitted.declaration)
    connection = transaction.connection
    last = await connection.scalar(
        select(func.max(decisions.c.sequence)).where(decisions.c.declaration_id == submitted.declaration_id)
    )
    sequence = (last or 0) + 1
    event_id = output_event_id(envelope.id, AGENCY)
    reasons = [
        Reason(code=f"LANE_{hit.lane.value.upper()}", text=f"{hit.rule_id} (item {hit.goods_item}): {hit.reason}")
        for hit in assessment.hits
        if hit.lane is not Lane.GREEN
    ]
    await connection.execute(
        insert(decisions).values(
            event_id=event_id,
            declaration_id=submitted.declaration_id,
            declaration_version=submitted.version,
            sequence=sequence,
            lane=assessment.lane.value,
            outcome=assessment.lane.outcome.value,
            hits=[{**asdict(hit), "lane": hit.lane.value} for hit in assessment.hits],
            profile_version=profile.version,
            decided_at=now,
        )
    )
    decision = AgencyDecisionMade(
        agency=AGENCY,
        declaration_id=submitted.declaration_id,
        declaration_version=submitted.version,
        sequence=sequence,
        outcome=assessment.lane.outcome,
        reasons=reasons,
        details={"lane": assessment.lane.value, "rules_hit": [hit.rule_id for hit in assessment.hits]},
        rules_version=profile.version,
        decided_at=now,
    )
    log.info(
        "declaration %s: %s lane, %s (profile %s)",
        submitted.declaration_id,
        assessment.lane.value,
        decision.outcome.value,
        profile.version,
    )
    await transaction.publish(
        Envelope(data=decision, source=AGENCY, correlation_id=envelope.correlation_id, id=event_id, time=now)
    )
