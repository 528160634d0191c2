"""Alerts agencies raise after a release: the consignment is flagged (its alerts, its timeline) and its traders
hear of it. A release is final, so an alert changes no clearance state: people act on it."""

from datetime import datetime

from services.contract.cloudevents import Envelope
from services.contract.consumer import PermanentEventError
from services.contract.events import AlertRaised
from services.contract.metrics import ALERTS_RAISED
from services.contract.outbox import Transaction
from services.gateway.adapters import repository
from services.gateway.service_layer import notifications


async def record(transaction: Transaction, envelope: Envelope, *, now: datetime) -> None:
    raised = envelope.data
    assert isinstance(raised, AlertRaised)
    connection = transaction.connection
    declaration = await repository.declaration_by_id(connection, raised.declaration_id)
    if declaration is None:
        raise PermanentEventError(f"alert {raised.alert_id} concerns no declaration the gateway holds")
    kept = await repository.insert_alert(
        connection,
        {
            "alert_id": raised.alert_id,
            "declaration_id": raised.declaration_id,
            "declaration_version": raised.declaration_version,
            "agency": raised.agency,
            "code": raised.code.value,
            "text": raised.text,
            "certificate_number": raised.certificate_number,
            "reasons": [reason.model_dump() for reason in raised.reasons],
            "raised_at": raised.raised_at,
            "received_at": now,
        },
    )
    if not kept:
        return
    detail = {"alert_id": raised.alert_id, "code": raised.code.value, "text": raised.text}
    await repository.add_to_timeline(connection, raised.declaration_id, now, "alert", detail, agency=raised.agency)
    await notifications.alert_raised(connection, declaration, raised, now)
    transaction.after_commit(lambda: ALERTS_RAISED.labels(raised.agency, raised.code.value).inc())
