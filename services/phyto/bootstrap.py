"""The phyto composition root: settings, engine, import requirements, Kafka link and consumer."""

from dataclasses import dataclass
from pathlib import Path

from aiokafka import ConsumerRecord

from services.contract.clock import Clock, utc_now
from services.contract.cloudevents import Envelope
from services.contract.consumer import PermanentEventError
from services.contract.events import (
    CertificateReceived,
    DeclarationAmended,
    DeclarationCancelled,
    DeclarationCorrected,
    DeclarationReferred,
    DeclarationSubmitted,
    GoodsArrived,
    InspectionRecorded,
    PaymentRecorded,
    Topic,
)
from services.contract.outbox import Transaction
from services.contract.runtime import Runtime
from services.phyto.adapters import orm
from services.phyto.adapters.rules_files import PhytoRulesHolder
from services.phyto.service_layer import consignments
from services.phyto.settings import PhytoSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


@dataclass
class Phyto:
    settings: PhytoSettings
    runtime: Runtime
    rules: PhytoRulesHolder
    clock: Clock

    async def on_event(self, envelope: Envelope, record: ConsumerRecord) -> bool:
        data = envelope.data
        if isinstance(data, DeclarationSubmitted):
            if consignments.AGENCY not in data.required_agencies:
                return False
            handle = consignments.on_declaration
        elif isinstance(data, DeclarationAmended):
            handle = consignments.on_declaration  # also when no longer routed here: phyto drops it
        elif isinstance(data, CertificateReceived):
            handle = consignments.on_certificate
        elif isinstance(data, InspectionRecorded):
            if data.agency != consignments.AGENCY:
                return False
            handle = consignments.on_inspection
        elif isinstance(data, DeclarationReferred):
            if data.referred_to != consignments.AGENCY:
                return False
            handle = consignments.on_referral
        elif isinstance(data, DeclarationCancelled):

            async def cancel(transaction: Transaction, event: Envelope) -> None:
                await consignments.on_cancelled(transaction, event)

            return await self.runtime.inbox.process(envelope, record, cancel)
        elif isinstance(data, PaymentRecorded | DeclarationCorrected | GoodsArrived):
            return False  # duties and corrections are customs' business; decisions do not wait for arrival
        else:
            raise PermanentEventError(f"phyto does not handle {envelope.type} yet")

        async def effect(transaction: Transaction, event: Envelope) -> None:
            await handle(transaction, event, rules=rules, now=self.clock())

        rules = self.rules.current  # one version of the rules for the whole event, whatever a reload does meanwhile
        return await self.runtime.inbox.process(envelope, record, effect)

    def reload_rules(self) -> bool:
        """Load the import requirements again; an invalid file leaves the rules in force (see the log)."""
        return self.rules.reload()


def bootstrap(settings: PhytoSettings, clock: Clock = utc_now) -> Phyto:
    runtime = Runtime(
        settings=settings,
        migrations=MIGRATIONS,
        tables=orm.messaging,
    )
    phyto = Phyto(settings, runtime, PhytoRulesHolder(settings), clock)
    topics = [settings.topic(Topic.DECLARATIONS), settings.topic(Topic.CERTIFICATES), settings.topic(Topic.INSPECTIONS)]
    runtime.consume(topics, f"{settings.topic_prefix}phyto", phyto.on_event)
    return phyto
