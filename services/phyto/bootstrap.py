"""The phyto composition root: settings, engine, import requirements, Kafka link and consumer."""

from dataclasses import dataclass
from pathlib import Path

from aiokafka import ConsumerRecord

from services.contract.clock import Clock, utc_now
from services.contract.cloudevents import Envelope
from services.contract.consumer import PermanentEventError, in_runs
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
from services.contract.logs import correlated
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

    async def on_events(self, events: list[tuple[Envelope, ConsumerRecord]]) -> list[bool]:
        """A batch, in the consumer's batch transaction: runs of first lodgements routed to phyto (of different
        declarations), and runs of certificates that replace none (of different numbers), are each claimed and
        taken in together; every other event is handled by on_event, in order."""
        return await in_runs(events, run_of=self._run_of, together=self._together, alone=self.on_event)

    @staticmethod
    def _run_of(envelope: Envelope) -> str | None:
        data = envelope.data
        if isinstance(data, DeclarationSubmitted) and consignments.AGENCY in data.required_agencies:
            return "lodgements"
        if isinstance(data, CertificateReceived) and data.certificate.replaced_certificate_number is None:
            return "certificates"
        return None

    async def _together(self, run: list[tuple[Envelope, ConsumerRecord]]) -> list[bool]:
        rules, now = self.rules.current, self.clock()

        async def lodgements(transaction: Transaction, fresh: list[Envelope]) -> None:
            for envelope in await consignments.decide_lodgements(transaction, fresh, rules=rules, now=now):
                with correlated(envelope.correlation_id):  # a declaration phyto holds already: one at a time
                    await consignments.on_declaration(transaction, envelope, rules=rules, now=now)

        async def certificates(transaction: Transaction, fresh: list[Envelope]) -> None:
            if not await consignments.take_in_certificates(transaction, fresh, rules=rules, now=now):
                for envelope in fresh:  # one of them is known already: one at a time, in order
                    with correlated(envelope.correlation_id):
                        await consignments.on_certificate(transaction, envelope, rules=rules, now=now)

        lodged = self._run_of(run[0][0]) == "lodgements"
        return await self.runtime.inbox.process_together(run, lodgements if lodged else certificates)

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
    runtime.consume(topics, f"{settings.topic_prefix}phyto", phyto.on_event, phyto.on_events)
    return phyto
