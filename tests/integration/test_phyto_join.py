"""Two phyto instances racing on one pair: whichever handles the declaration or the certificate, and at the
same moment, the join is never missed (a lock per certificate number; BEGIN IMMEDIATE on SQLite)."""

import asyncio
from collections import namedtuple
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.contract.certificate import Certificate
from services.contract.cloudevents import Envelope
from services.contract.database import upgrade
from services.contract.declaration import Declaration
from services.contract.events import CertificateReceived, DeclarationSubmitted
from services.contract.outbox import Transaction
from services.contract.runtime import Runtime
from services.phyto.adapters import orm
from services.phyto.adapters.rules_files import load_phyto_rules
from services.phyto.bootstrap import MIGRATIONS
from services.phyto.service_layer import consignments
from services.phyto.settings import PhytoSettings
from tests.support import payloads
from tests.support.databases import Databases

pytestmark = pytest.mark.integration
Record = namedtuple("Record", "topic partition offset")
PAIRS = 25


def instance(url: str) -> Runtime:
    """One phyto instance's database side: its own engine (connection pool) on the shared database."""
    settings = PhytoSettings(database_url=url, kafka_bootstrap="127.0.0.1:9")
    return Runtime(settings=settings, migrations=MIGRATIONS, tables=orm.messaging)


def pair(n: int) -> tuple[Envelope, Envelope]:
    number = payloads.certificate_number()
    now = datetime.now(UTC)
    submitted = DeclarationSubmitted(
        declaration_id=f"01JRACE{n:019d}",
        version=1,
        declaration=Declaration.model_validate(payloads.declaration(number)),
        required_agencies=["customs", "phyto"],
        routing_version="test",
        submitted_at=now,
    )
    received = CertificateReceived(
        certificate_id=f"01JCERT{n:019d}",
        certificate=Certificate.model_validate(payloads.certificate(number, issued_at=now.isoformat())),
        received_at=now,
    )
    return (
        Envelope(data=submitted, source="gateway", correlation_id=f"race-{n}"),
        Envelope(data=received, source="gateway", correlation_id=f"race-{n}"),
    )


async def test_two_instances_racing_on_declaration_and_certificate_never_miss_the_join(database: Databases) -> None:
    url = await database.url("phyto")
    first, second = instance(url), instance(url)
    await upgrade(first.engine, MIGRATIONS)
    rules = load_phyto_rules(PhytoSettings(inspection_key="test-inspection-key-0123456789"))

    async def handle(runtime: Runtime, envelope: Envelope, offset: int) -> None:
        effect = (
            consignments.on_declaration
            if isinstance(envelope.data, DeclarationSubmitted)
            else consignments.on_certificate
        )

        async def run(transaction: Transaction, event: Envelope) -> None:
            await effect(transaction, event, rules=rules, now=datetime.now(UTC))

        for _ in range(20):  # what the consumer does: a lost race on a unique key is retried
            try:
                await runtime.inbox.process(envelope, Record("race", 0, offset), run)
                return
            except Exception:  # noqa: BLE001 - the retry the consumer loop would make
                await asyncio.sleep(0.01)
        raise AssertionError(f"{envelope.type} {envelope.id} failed 20 times")

    envelopes = [pair(n) for n in range(PAIRS)]
    await asyncio.gather(
        *(
            # Alternate which instance gets the declaration, so both orders of arrival race.
            step
            for n, (declared, certified) in enumerate(envelopes)
            for step in (
                handle(first if n % 2 else second, declared, 2 * n),
                handle(second if n % 2 else first, certified, 2 * n + 1),
            )
        )
    )

    async with first.engine.connect() as connection:
        rows = await connection.execute(select(orm.declarations.c.declaration_id, orm.declarations.c.outcome))
        outcomes = {row.declaration_id: row.outcome for row in rows}
    assert len(outcomes) == PAIRS
    assert set(outcomes.values()) == {"released"}, f"joins missed: {sum(o != 'released' for o in outcomes.values())}"
    for runtime in (first, second):
        await runtime.engine.dispose()
