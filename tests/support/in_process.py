"""The three services running inside the test process, against the real broker and SQLite files."""

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.customs.bootstrap import Customs
from services.customs.bootstrap import bootstrap as bootstrap_customs
from services.customs.entrypoints.http import create_app as customs_app
from services.customs.settings import CustomsSettings
from services.gateway.bootstrap import Gateway
from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.domain.callers import Grant, Role
from services.gateway.entrypoints.access import Operation
from services.gateway.entrypoints.http import create_app as gateway_app
from services.gateway.service_layer.api_keys import KeyEntry, seed
from services.gateway.settings import GatewaySettings
from services.phyto.bootstrap import Phyto
from services.phyto.bootstrap import bootstrap as bootstrap_phyto
from services.phyto.entrypoints.http import create_app as phyto_app
from services.phyto.settings import PhytoSettings
from tests.support.databases import Databases
from tests.support.profiles import SELECTIVITY_KEY, risk_profile_without_random_selection
from tests.support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
DEV_KEYS = REPO / "deploy" / "dev-keys.yaml"
TRADER_KEY = {"X-API-Key": "dev-trader-GB123456789000"}
OTHER_TRADER_KEY = {"X-API-Key": "dev-trader-GB987654321000"}
NPPO_KEY = {"X-API-Key": "dev-nppo-NL-0000000001"}
CUSTOMS_OFFICER_KEY = {"X-API-Key": "dev-officer-customs-0001"}
PHYTO_OFFICER_KEY = {"X-API-Key": "dev-officer-phyto-00001"}
CARRIER_KEY = {"X-API-Key": "dev-carrier-GBDVR-00001"}
OPERATOR_KEY = {"X-API-Key": "dev-operator-000000001"}


@dataclass
class System:
    client: httpx.AsyncClient
    app: FastAPI
    gateway: Gateway
    customs: Customs
    phyto: Phyto
    bootstrap: str
    topic_prefix: str

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


def common_settings(bootstrap: str, topic_prefix: str) -> dict[str, Any]:
    """Fast polling and retries so that tests finish quickly; everything else as in production."""
    return {
        "kafka_bootstrap": bootstrap,
        "topic_prefix": topic_prefix,
        "topic_partitions": 1,
        "outbox_poll_ms": 50,
        "consumer_retry_backoff_ms": 20,
        "consumer_max_retries": 2,
        "startup_retry_seconds": 0.5,
        "lag_sample_seconds": 1.0,
    }


WEBHOOKS_ON_LOOPBACK: dict[str, Any] = {
    # hooks.example.org: the OpenAPI example's host (deliveries to it fail: there is no such receiver).
    "webhook_allowed_hosts": ["127.0.0.1", "localhost", "hooks.example.org"],
    "webhook_allowed_schemes": ["http", "https"],
    "webhook_poll_ms": 50,
    "webhook_retry_base_seconds": 0.1,
    "webhook_retry_max_seconds": 0.4,
    "webhook_disable_after_failures": 4,
    "webhook_failure_window_seconds": 60,
    "sse_poll_ms": 50,
}
"""Webhooks to local receivers, retried and disabled within a test's time."""


@asynccontextmanager
async def running_system(
    bootstrap: str,
    topic_prefix: str,
    databases: Databases,
    connect_as: Callable[[str], dict[str, Any]] = lambda service: {},
    otlp_endpoint: str | None = None,
) -> AsyncIterator[System]:
    """The three services in process; `connect_as(service)` adds that service's Kafka credentials; each
    service sends its spans to `otlp_endpoint` when given."""
    common = common_settings(bootstrap, topic_prefix) | {"otlp_endpoint": otlp_endpoint}
    gateway = bootstrap_gateway(
        GatewaySettings(
            database_url=await databases.url("gateway"),
            environment="development",
            dev_keys_file=DEV_KEYS,
            **WEBHOOKS_ON_LOOPBACK,
            **(common | connect_as("gateway")),
        )
    )
    customs = bootstrap_customs(
        CustomsSettings(
            database_url=await databases.url("customs"),
            risk_profile=risk_profile_without_random_selection(),
            selectivity_key=SELECTIVITY_KEY,
            **(common | connect_as("customs")),
        )
    )
    phyto = bootstrap_phyto(PhytoSettings(database_url=await databases.url("phyto"), **(common | connect_as("phyto"))))
    apps = [gateway_app(gateway), customs_app(customs), phyto_app(phyto)]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url="http://gateway")
        )
        runtimes = [gateway.runtime, customs.runtime, phyto.runtime]

        async def connected() -> bool:
            return all(runtime.link.connected for runtime in runtimes)

        await eventually(connected, within=60, what="every service to connect to Kafka")
        yield System(client, apps[0], gateway, customs, phyto, bootstrap, topic_prefix)


async def seeded_key(system: System, role: Role, subject: str, grants: tuple[Grant, ...] = ()) -> dict[str, str]:
    """An API key for `role` acting for `subject`, stored in the gateway's database: the header to send."""
    key = f"test-{role.value}-{subject or 'any'}-{'-'.join(grants) or 'plain'}-0000000001"
    entry = KeyEntry(key=key, role=role, subject=subject, grants=list(grants))
    async with system.gateway.runtime.engine.begin() as connection:
        await seed(connection, [entry], datetime.now(UTC))
    return {"X-API-Key": key}


@dataclass(frozen=True)
class Keyholder:
    """Someone calling the gateway: a name for reports, the role of its key (None: no key), the header it sends."""

    name: str
    role: Role | None
    headers: dict[str, str]
    granted: bool = False
    """An operator's key with the trade:read grant."""

    def admitted(self, operation: Operation) -> bool:
        """What the role-by-endpoint table says for this keyholder on `operation`."""
        cell = operation.admits(self.role)
        return cell == "yes" or (cell.startswith("with") and self.granted)


async def every_keyholder(system: System) -> list[Keyholder]:
    """A key of every role (both officers, an operator with and without trade:read) and no key."""
    granted = await seeded_key(system, Role.OPERATOR, "", (Grant.TRADE_READ,))
    return [
        Keyholder("trader", Role.TRADER, TRADER_KEY),
        Keyholder("carrier", Role.CARRIER, CARRIER_KEY),
        Keyholder("nppo", Role.NPPO, NPPO_KEY),
        Keyholder("customs officer", Role.OFFICER, CUSTOMS_OFFICER_KEY),
        Keyholder("plant health officer", Role.OFFICER, PHYTO_OFFICER_KEY),
        Keyholder("operator", Role.OPERATOR, OPERATOR_KEY),
        Keyholder("operator with trade:read", Role.OPERATOR, granted, granted=True),
        Keyholder("no key", None, {}),
    ]
