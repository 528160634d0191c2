"""Schemathesis against the gateway's OpenAPI document over real HTTP, with the key of every role and with none:
generated valid and invalid requests for each operation. No answer is a 5xx, each is documented (status, media type,
body schema), no error body shows a stack trace, no key gets past a gate that refuses it, and most cases of the keys
a gate admits reach its handler. The counts go to test-artifacts/fuzz-openapi.json and .md."""

import asyncio
import sys
import time

import pytest

from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.entrypoints.access import operations
from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE, DECLARATION_EXAMPLE
from services.gateway.entrypoints.http import create_app as gateway_app
from services.gateway.entrypoints.notification_schemas import WEBHOOK_EXAMPLE
from tests.support.fuzzing import STACK_TRACE, Fuzzer, Persona, Report, takes_input
from tests.support.in_process import NPPO_KEY, TRADER_KEY, System, every_keyholder
from tests.support.serving import served

pytestmark = [
    pytest.mark.integration,
    # Schemathesis' own strategies draw from `random`; Hypothesis seeds it, so the cases still repeat.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"),
]
CASES = 20
"""Generated cases per operation and mode (valid, invalid), sent as each persona."""
REACHED = 0.9
"""The share of a persona's cases on the operations it may call that must get past the gate."""
UNLIMITED = {"rate_limit_per_second": 1e6, "rate_limit_burst": 1_000_000}
"""So that the cases reach the handlers instead of the per-key rate limit."""


async def personas(system: System) -> list[Persona]:
    """Every keyholder, with the operations of the API document the role-by-endpoint table admits it to."""
    table = [operation for operation in operations(system.gateway) if operation.documented]
    return [
        Persona(
            holder.name,
            holder.headers,
            frozenset(f"{operation.method} {operation.path}" for operation in table if holder.admitted(operation)),
        )
        for holder in await every_keyholder(system)
    ]


async def known_ids(system: System) -> dict[str, str]:
    """Something of each kind that exists, so that generated requests also get past "not found"."""
    lodged = {}
    for name, path, body, headers in [
        ("declaration_id", "/v1/declarations", DECLARATION_EXAMPLE, TRADER_KEY),
        ("certificate_id", "/v1/certificates", CERTIFICATE_EXAMPLE, NPPO_KEY),
        ("webhook_id", "/v1/webhooks", WEBHOOK_EXAMPLE, TRADER_KEY),
    ]:
        response = await system.client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        lodged[name] = response.json()["id"]
    return lodged


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the HTTP edge is the same on both databases
async def test_generated_requests_get_documented_answers_and_never_a_server_error(system: System) -> None:
    everyone = await personas(system)
    ids = await known_ids(system)
    app = gateway_app(bootstrap_gateway(system.gateway.settings.model_copy(update=UNLIMITED)))
    report = Report(cases_per_mode=CASES)
    started = time.monotonic()
    async with served(app) as base_url:
        fuzzer = Fuzzer(app.openapi(), base_url, personas=everyone, cases=CASES, known_ids=ids)
        # Schemathesis sends with a blocking client: from a thread, while this event loop serves the requests.
        report.personas = await asyncio.to_thread(fuzzer.run)
    await app.state.gateway.runtime.engine.dispose()
    report.seconds = time.monotonic() - started
    report.write("fuzz-openapi")
    sys.stdout.write(report.summary() + "\n")

    assert report.failures == []
    for persona in everyone:
        tallies = report.personas[persona.name]
        for operation in fuzzer.operations:
            ran = tallies[operation.label].cases
            least = 2 * CASES if takes_input(operation) else 1  # without input, one request is all there is
            assert ran >= least, f"{persona.name}: {operation.label} ran {ran} cases, fewer than {least}"
        admitted = [tallies[label] for label in persona.admitted]
        reached, sent = sum(tally.past_the_gate for tally in admitted), sum(tally.cases for tally in admitted)
        assert reached >= REACHED * sent, f"{persona.name}: {reached} of {sent} cases got past the gate"


@pytest.mark.parametrize(
    ("body", "shows"),
    [
        ('Traceback (most recent call last):\n  File "/app/routes.py", line 3, in lodge', True),
        ('{"detail": "sqlalchemy.exc.IntegrityError: UNIQUE constraint failed"}', True),
        ('{"title": "Invalid request", "detail": "JSON decode error", "errors": [{"path": "body.9"}]}', False),
    ],
)
def test_the_stack_trace_check_knows_one_when_it_sees_one(body: str, shows: bool) -> None:
    assert bool(STACK_TRACE.search(body)) is shows
