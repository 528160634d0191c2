"""The customs composition root: settings, engine, risk profile, Kafka link and consumer."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import ConsumerRecord

from services.contract.clock import Clock, utc_now
from services.contract.cloudevents import Envelope
from services.contract.consumer import PermanentEventError, in_runs
from services.contract.events import (
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
from services.customs.adapters import orm
from services.customs.adapters.rulebook_files import RulebookHolder
from services.customs.service_layer import controls, corrections, declarations
from services.customs.settings import CustomsSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


@dataclass
class Customs:
    settings: CustomsSettings
    runtime: Runtime
    rules: RulebookHolder
    clock: Clock

    async def on_event(self, envelope: Envelope, record: ConsumerRecord) -> bool:
        """Declarations routed to customs (lodged, amended, cancelled, corrected), payments, and inspection
        results of customs officers."""
        data = envelope.data
        rulebook = self.rules.current
        handle: Callable[[Transaction, Envelope], Awaitable[None]]
        if isinstance(data, DeclarationSubmitted | DeclarationAmended):
            if declarations.AGENCY not in data.required_agencies:
                return False

            async def handle(transaction: Transaction, event: Envelope) -> None:
                await declarations.decide(transaction, event, rulebook=rulebook, now=self.clock())

        elif isinstance(data, DeclarationCancelled):

            async def handle(transaction: Transaction, event: Envelope) -> None:
                await declarations.cancel(transaction, event)

        elif isinstance(data, DeclarationCorrected):

            async def handle(transaction: Transaction, event: Envelope) -> None:
                await corrections.assess(transaction, event, rulebook=rulebook, now=self.clock())

        elif isinstance(data, PaymentRecorded):

            async def handle(transaction: Transaction, event: Envelope) -> None:
                await controls.record_payment(transaction, event, rulebook=rulebook, now=self.clock())

        elif isinstance(data, InspectionRecorded):
            if data.agency != declarations.AGENCY:
                return False

            async def handle(transaction: Transaction, event: Envelope) -> None:
                await controls.record_inspection(transaction, event, now=self.clock())

        elif isinstance(data, DeclarationReferred):
            if data.referred_to != declarations.AGENCY:
                return False

            async def handle(transaction: Transaction, event: Envelope) -> None:
                await controls.record_referral(transaction, event, now=self.clock())

        elif isinstance(data, GoodsArrived):
            return False  # release does not wait for arrival: the decision is ready when the goods come
        else:
            raise PermanentEventError(f"customs does not handle {envelope.type}")
        return await self.runtime.inbox.process(envelope, record, handle)

    async def on_events(self, events: list[tuple[Envelope, ConsumerRecord]]) -> list[bool]:
        """A batch, in the consumer's batch transaction: runs of first lodgements routed to customs (of different
        declarations) are claimed and decided together; every other event is handled by on_event, in order."""
        return await in_runs(events, run_of=self._run_of, together=self._decide_together, alone=self.on_event)

    @staticmethod
    def _run_of(envelope: Envelope) -> str | None:
        data = envelope.data
        lodged_here = isinstance(data, DeclarationSubmitted) and declarations.AGENCY in data.required_agencies
        return "lodgements" if lodged_here else None

    async def _decide_together(self, run: list[tuple[Envelope, ConsumerRecord]]) -> list[bool]:
        rulebook, now = self.rules.current, self.clock()

        async def decide(transaction: Transaction, fresh: list[Envelope]) -> None:
            for envelope in await declarations.decide_lodgements(transaction, fresh, rulebook=rulebook, now=now):
                with correlated(envelope.correlation_id):  # a declaration customs holds already: one at a time
                    await declarations.decide(transaction, envelope, rulebook=rulebook, now=now)

        return await self.runtime.inbox.process_together(run, decide)

    def reload_rules(self) -> bool:
        """Load the rule files again; invalid files leave the rules in force (see the log)."""
        return self.rules.reload()


def bootstrap(settings: CustomsSettings, clock: Clock = utc_now) -> Customs:
    runtime = Runtime(
        settings=settings,
        migrations=MIGRATIONS,
        tables=orm.messaging,
    )
    customs = Customs(settings, runtime, RulebookHolder(settings), clock)
    topics = [settings.topic(Topic.DECLARATIONS), settings.topic(Topic.INSPECTIONS)]
    runtime.consume(topics, f"{settings.topic_prefix}customs", customs.on_event, customs.on_events)
    return customs
