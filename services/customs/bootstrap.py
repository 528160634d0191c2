"""The customs composition root: settings, engine, risk profile, Kafka link and consumer."""

from dataclasses import dataclass
from pathlib import Path

from aiokafka import ConsumerRecord

from services.contract.clock import Clock, utc_now
from services.contract.cloudevents import Envelope
from services.contract.consumer import PermanentEventError
from services.contract.events import DeclarationSubmitted, Topic
from services.contract.outbox import Transaction
from services.contract.runtime import Runtime
from services.customs.adapters import orm
from services.customs.adapters.rulebook_files import RulebookHolder
from services.customs.service_layer import declarations
from services.customs.settings import CustomsSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


@dataclass
class Customs:
    settings: CustomsSettings
    runtime: Runtime
    rules: RulebookHolder
    clock: Clock

    async def on_declaration(self, envelope: Envelope, record: ConsumerRecord) -> bool:
        submitted = envelope.data
        if not isinstance(submitted, DeclarationSubmitted):
            raise PermanentEventError(f"customs does not handle {envelope.type} yet")
        if declarations.AGENCY not in submitted.required_agencies:
            return False

        async def effect(transaction: Transaction, event: Envelope) -> None:
            await declarations.decide(transaction, event, rulebook=self.rules.current, now=self.clock())

        return await self.runtime.inbox.process(envelope, record, effect)


def bootstrap(settings: CustomsSettings, clock: Clock = utc_now) -> Customs:
    runtime = Runtime(
        settings=settings,
        migrations=MIGRATIONS,
        tables=orm.messaging,
    )
    customs = Customs(settings, runtime, RulebookHolder(settings), clock)
    runtime.consume([settings.topic(Topic.DECLARATIONS)], f"{settings.topic_prefix}customs", customs.on_declaration)
    return customs
