"""The gateway's composition root: settings, engine, rules, Kafka link and consumers wired together."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiokafka import ConsumerRecord

from services.contract.clock import Clock, utc_now
from services.contract.cloudevents import Envelope
from services.contract.consumer import PermanentEventError, in_runs
from services.contract.events import AgencyDecisionMade, AlertRaised, CorrectionAssessed, Topic
from services.contract.lease import Lease
from services.contract.outbox import Transaction
from services.contract.rules_file import RulesInForce
from services.contract.runtime import Runtime
from services.gateway.adapters import orm
from services.gateway.adapters.hub_client import HubClient, tls_context
from services.gateway.adapters.webhook_http import HttpSender
from services.gateway.domain.notifications import TargetPolicy
from services.gateway.domain.rate_limits import TokenBuckets
from services.gateway.domain.routing import RoutingTable
from services.gateway.service_layer import alerts, amendments, api_keys, audit, decisions
from services.gateway.service_layer.hub_intake import HubIntake
from services.gateway.service_layer.operations import Operations
from services.gateway.service_layer.webhook_delivery import DeliveryPolicy, WebhookDispatcher
from services.gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


@dataclass
class Gateway:
    settings: GatewaySettings
    runtime: Runtime
    routing_rules: RulesInForce[RoutingTable]
    clock: Clock
    webhook_targets: TargetPolicy
    webhook_dispatcher: WebhookDispatcher
    rate_limits: TokenBuckets
    failed_keys: TokenBuckets
    """Per client address: requests with an unknown API key (guessing, or a client with a revoked key)."""
    operations: Operations
    """The operator overview and the Time Release Study."""

    @property
    def source(self) -> str:
        return self.settings.service_name

    @property
    def routing(self) -> RoutingTable:
        return self.routing_rules.current

    def reload_rules(self) -> bool:
        """Read the routing table again; a file that does not load leaves the table in force (see the log)."""
        return self.routing_rules.reload()

    async def start(self) -> None:
        await self.runtime.start()
        if self.settings.dev_keys_file is not None:
            entries = api_keys.read_key_file(self.settings.dev_keys_file)
            async with self.runtime.engine.begin() as connection:
                await api_keys.seed(connection, entries, self.clock())

    async def on_decision(self, envelope: Envelope, record: ConsumerRecord) -> bool:
        """Agencies' decisions, joined into the single-window decision; their alerts after a release; customs'
        assessments of corrections."""
        if isinstance(envelope.data, AgencyDecisionMade):

            async def effect(transaction: Transaction, event: Envelope) -> None:
                await decisions.record(transaction, event, now=self.clock(), source=self.source)  # audited there

        elif isinstance(envelope.data, AlertRaised):

            async def effect(transaction: Transaction, event: Envelope) -> None:
                await audit.on_consumed(transaction.connection, event)
                await alerts.record(transaction, event, now=self.clock())

        elif isinstance(envelope.data, CorrectionAssessed):

            async def effect(transaction: Transaction, event: Envelope) -> None:
                await audit.on_consumed(transaction.connection, event)
                await amendments.record_assessment(transaction, event, now=self.clock())

        else:
            raise PermanentEventError(f"{envelope.type} does not belong on the decisions or alerts topic")

        return await self.runtime.inbox.process(envelope, record, effect)

    async def on_decisions(self, events: list[tuple[Envelope, ConsumerRecord]]) -> list[bool]:
        """A batch, in the consumer's batch transaction: runs of agency decisions on different declarations are
        claimed, recorded and joined together; every other event is handled by on_decision, in order."""
        return await in_runs(events, run_of=self._run_of, together=self._record_together, alone=self.on_decision)

    @staticmethod
    def _run_of(envelope: Envelope) -> str | None:
        return "decisions" if isinstance(envelope.data, AgencyDecisionMade) else None

    async def _record_together(self, run: list[tuple[Envelope, ConsumerRecord]]) -> list[bool]:
        now = self.clock()

        async def record(transaction: Transaction, fresh: list[Envelope]) -> None:
            await decisions.record_together(transaction, fresh, now=now, source=self.source)

        return await self.runtime.inbox.process_together(run, record)


def bootstrap(settings: GatewaySettings, clock: Clock = utc_now) -> Gateway:
    runtime = Runtime(
        settings=settings,
        migrations=MIGRATIONS,
        tables=orm.messaging,
        ready_without_kafka=True,  # the outbox keeps what is accepted until Kafka is back
    )
    webhook_targets = TargetPolicy(
        schemes=frozenset(settings.webhook_allowed_schemes), hosts=frozenset(settings.webhook_allowed_hosts)
    )
    dispatcher = WebhookDispatcher(
        engine=runtime.engine,
        lease=Lease(
            engine=runtime.engine,
            table=orm.leases,
            name="webhook-delivery",
            ttl_seconds=settings.relay_lease_seconds,
        ),
        sender=HttpSender(settings.webhook_timeout_seconds),
        targets=webhook_targets,
        policy=DeliveryPolicy(
            retry_base=timedelta(seconds=settings.webhook_retry_base_seconds),
            retry_max=timedelta(seconds=settings.webhook_retry_max_seconds),
            max_attempts=settings.webhook_max_attempts,
            disable_after_failures=settings.webhook_disable_after_failures,
            failure_window=timedelta(seconds=settings.webhook_failure_window_seconds),
        ),
        clock=clock,
        poll_seconds=settings.webhook_poll_ms / 1000,
    )
    runtime.run_beside("webhook-delivery", dispatcher)
    runtime.transactions.on_publish(audit.on_publish)
    sealer = audit.AuditSealer(
        engine=runtime.engine,
        transactions=runtime.transactions,
        lease=Lease(
            engine=runtime.engine, table=orm.leases, name="audit-sealer", ttl_seconds=settings.relay_lease_seconds
        ),
        clock=clock,
        poll_seconds=settings.audit_seal_ms / 1000,
    )
    runtime.run_beside("audit-sealer", sealer)
    gateway = Gateway(
        settings=settings,
        runtime=runtime,
        routing_rules=RulesInForce(settings.routing_table, RoutingTable),
        clock=clock,
        webhook_targets=webhook_targets,
        webhook_dispatcher=dispatcher,
        rate_limits=TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst),
        failed_keys=TokenBuckets(settings.failed_keys_per_minute / 60, settings.failed_keys_burst),
        operations=Operations(settings, runtime),
    )
    runtime.consume(
        [settings.topic(Topic.DECISIONS), settings.topic(Topic.ALERTS)],
        f"{settings.topic_prefix}gateway",
        gateway.on_decision,
        gateway.on_decisions,
    )
    if settings.hub_url is not None:
        runtime.run_beside("hub-intake", hub_intake(settings, runtime, clock))
    return gateway


def hub_intake(settings: GatewaySettings, runtime: Runtime, clock: Clock) -> HubIntake:
    """Pulls certificates from the IPPC ePhyto Hub at `hub_url`, authenticated by the client certificate if set."""
    assert settings.hub_url is not None
    tls = tls_context(
        cafile=settings.hub_cafile, certfile=settings.hub_client_certfile, keyfile=settings.hub_client_keyfile
    )
    return HubIntake(
        client=HubClient(
            settings.hub_url,
            timeout_seconds=settings.hub_timeout_seconds,
            tls=tls,
            max_answer_bytes=settings.hub_max_envelope_bytes,
        ),
        transactions=runtime.transactions,
        lease=Lease(
            engine=runtime.engine, table=orm.leases, name="hub-intake", ttl_seconds=settings.relay_lease_seconds
        ),
        clock=clock,
        source=settings.service_name,
        poll_seconds=settings.hub_poll_seconds,
        retry_max_seconds=settings.hub_retry_max_seconds,
        max_document_bytes=settings.hub_max_envelope_bytes,
    )
