"""Every cell of the role-by-endpoint table, sent over real HTTP with a key of each role: a role the table
admits passes the gate, any other gets 403, no key gets 401. A trader gets 404 from every route naming another's
declaration or certificate. Operator keys and rate limits, end to end."""

import os
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.domain.callers import Grant, Role
from services.gateway.entrypoints.access import operations
from services.gateway.entrypoints.examples import CERTIFICATE_XML_EXAMPLE
from services.gateway.entrypoints.http import create_app as gateway_app
from services.gateway.entrypoints.routes.declarations import PAYMENT_EXAMPLE
from tests.integration.test_arrivals import FERRY
from tests.integration.test_certificate_xml import XML
from tests.integration.test_flow import clearance_of, submit_declaration
from tests.support import payloads
from tests.support.commands import Ran, run_module
from tests.support.in_process import (
    CARRIER_KEY,
    CUSTOMS_OFFICER_KEY,
    NPPO_KEY,
    OPERATOR_KEY,
    OTHER_TRADER_KEY,
    TRADER_KEY,
    System,
    every_keyholder,
    seeded_key,
)
from tests.support.serving import served
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
SOME_ID = "01JDQ5S2M8X7Y3K4P9R6T0V1WZ"  # a well-formed id of nothing
TRADER = "GB123456789000"
"""The trader of TRADER_KEY."""
OTHER_TRADER = "GB987654321000"
"""The trader of OTHER_TRADER_KEY: neither declarant nor importer of the declarations TRADER_KEY lodges."""


async def status_of(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = path.replace("{declaration_id}", SOME_ID).replace("{certificate_id}", SOME_ID)
    url = url.replace("{webhook_id}", SOME_ID).replace("{version}", "1").replace("{name}", "app.js")
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    async with client.stream(method, url, headers=headers, **body) as response:  # streams stay open: read none
        return response.status_code


async def test_every_cell_of_the_table(system: System) -> None:
    keyholders = await every_keyholder(system)
    wrong: list[str] = []
    cells = 0
    async with served(system.app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for operation in operations(system.gateway):
            for holder in keyholders:
                admitted = holder.admitted(operation)
                status = await status_of(client, operation.method, operation.path, holder.headers)
                expected = "not 401/403" if admitted else ("401" if holder.role is None else "403")
                if (
                    admitted != (status not in (401, 403))
                    or (not admitted and str(status) != expected)
                    or status >= 500
                ):
                    wrong.append(f"{operation.method} {operation.path} as {holder.name}: {status}, expected {expected}")
                cells += 1
    assert wrong == []
    assert cells == 8 * len(list(operations(system.gateway)))


def _sent_by_another_trader(lodged: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """What another trader sends to each route naming a declaration or a certificate (a body, or None for a read):
    bodies that pass every check but whose declaration it is, so that a missing check would act."""
    theirs = lodged | {"function_code": "4", "declarant": {"id": OTHER_TRADER}, "authorisations": []}
    theirs["goods_items"] = [lodged["goods_items"][0] | {"quantity": {"value": "1", "unit": "KGM"}}]
    return {
        "GET /v1/declarations/{declaration_id}": None,
        "POST /v1/declarations/{declaration_id}/payments": PAYMENT_EXAMPLE,
        "POST /v1/declarations/{declaration_id}/amendments": theirs,
        "POST /v1/declarations/{declaration_id}/cancellation": {"reason": "not mine to cancel"},
        "POST /v1/declarations/{declaration_id}/corrections": {"reason": "not mine to correct", "declaration": theirs},
        "GET /v1/declarations/{declaration_id}/versions/{version}": None,
        "GET /v1/declarations/{declaration_id}/arrival": None,
        "GET /v1/certificates/{certificate_id}": None,
        "GET /v1/certificates/{certificate_id}/document": None,
    }


async def test_another_trader_gets_404_from_every_route_naming_a_declaration_or_certificate_and_changes_nothing(
    system: System,
) -> None:
    delivered = await system.client.post("/v1/certificates", content=CERTIFICATE_XML_EXAMPLE, headers=XML | NPPO_KEY)
    assert delivered.status_code == 201, delivered.text
    certificate = delivered.json()
    lodged = payloads.declaration(certificate["number"], authorisations=[])  # no deferment: held for the duties
    declaration_id = await submit_declaration(system, lodged)
    arrival = f"/v1/declarations/{declaration_id}/arrival"
    assert (await system.client.post(arrival, json=FERRY, headers=CARRIER_KEY)).status_code == 201
    before = await _held_for_its_duties_only(system, declaration_id)
    ids = {"declaration_id": declaration_id, "certificate_id": certificate["id"], "version": "1"}
    secrets = [TRADER, lodged["lrn"], certificate["number"], "Bloemen Export BV", "Roses Import Ltd", "Fresh cut roses"]
    sent = _sent_by_another_trader(lodged)
    assert set(sent) == {
        f"{operation.method} {operation.path}"
        for operation in operations(system.gateway)
        if operation.admits(Role.TRADER) == "yes"
        and ("{declaration_id}" in operation.path or "{certificate_id}" in operation.path)
    }  # a new route of the kind needs its probe here

    wrong: list[str] = []
    for route, body in sent.items():
        method, path = route.split(" ")
        url = path.format(**ids)
        if method == "GET" and (mine := await system.client.get(url, headers=TRADER_KEY)).status_code != 200:
            wrong.append(f"{route}: the declarant gets {mine.status_code}, so a 404 would prove nothing")
        response = await system.client.request(method, url, json=body, headers=OTHER_TRADER_KEY)
        if response.status_code != 404:
            wrong.append(f"{route}: {response.status_code}, expected 404")
        wrong += [f"{route}: the answer shows {secret!r}" for secret in secrets if secret in response.text]
    assert wrong == []
    assert await clearance_of(system, declaration_id) == before
    feed = await system.client.get("/v1/notifications", headers=OTHER_TRADER_KEY)
    assert feed.status_code == 200
    assert declaration_id not in feed.text


async def test_an_operator_reads_a_declaration_only_with_the_trade_read_grant(system: System) -> None:
    declaration_id = await submit_declaration(system, _declaration("LRN-ACCESS-0001"))
    operator = await system.client.get(f"/v1/declarations/{declaration_id}", headers=OPERATOR_KEY)
    assert operator.status_code == 403
    granted = await seeded_key(system, Role.OPERATOR, "", (Grant.TRADE_READ,))
    read = await system.client.get(f"/v1/declarations/{declaration_id}", headers=granted)
    assert read.status_code == 200
    assert read.json()["lrn"] == "LRN-ACCESS-0001"


async def test_operators_create_list_and_revoke_keys_with_the_command(system: System) -> None:
    env = {**os.environ, "SW_GATEWAY_DATABASE_URL": system.gateway.settings.database_url}

    async def run(*args: str) -> Ran:
        return await run_module("services.operator", "keys", *args, env=env)

    created = await run("create", "--role", "trader", "--subject", "GB777777777000", "--label", "Tulips Ltd")
    assert created.returncode == 0, created.stderr
    header, key = created.stdout.strip().splitlines()
    key_id = header.split()[2]
    assert key.startswith("sw_")
    assert len(key) > 40
    listing = await run("list")
    assert key_id in listing.stdout
    assert "Tulips Ltd" in listing.stdout
    assert key not in listing.stdout  # shown once, never again

    assert (await system.client.get("/v1/declarations", headers={"X-API-Key": key})).status_code == 200
    revoked = await run("revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    refused = await system.client.get("/v1/declarations", headers={"X-API-Key": key})
    assert refused.status_code == 401
    assert (await run("revoke", key_id)).returncode == 1  # already revoked

    wrong = await run("create", "--role", "nppo", "--subject", "NLD")
    assert wrong.returncode == 2
    assert "country code" in wrong.stderr


async def test_closed_operations_endpoints_need_an_operator_key(system: System) -> None:
    settings = system.gateway.settings.model_copy(update={"ops_public": False})
    async with (
        served(gateway_app(bootstrap_gateway(settings))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        for path in ("/health", "/ready", "/metrics"):
            assert (await client.get(path)).status_code == 401
            assert (await client.get(path, headers=TRADER_KEY)).status_code == 403
            assert (await client.get(path, headers=OPERATOR_KEY)).status_code == 200


async def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_go_on(system: System) -> None:
    settings = system.gateway.settings.model_copy(update={"rate_limit_per_second": 0.2, "rate_limit_burst": 3})
    async with (
        served(gateway_app(bootstrap_gateway(settings))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        statuses = [(await client.get("/v1/declarations", headers=TRADER_KEY)).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = await client.get("/v1/declarations", headers=TRADER_KEY)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["Retry-After"]) <= 5
        assert "0.2 requests per second" in limited.json()["detail"]
        assert (await client.get("/v1/declarations", headers=CUSTOMS_OFFICER_KEY)).status_code == 200


async def test_an_address_sending_unknown_keys_is_slowed_down_and_valid_keys_go_on(system: System) -> None:
    settings = system.gateway.settings.model_copy(update={"failed_keys_per_minute": 1.0, "failed_keys_burst": 2})
    async with (
        served(gateway_app(bootstrap_gateway(settings))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        guesses = [{"X-API-Key": f"sw_guess-{n}"} for n in range(3)]
        statuses = [(await client.get("/v1/declarations", headers=guess)).status_code for guess in guesses]
        assert statuses == [401, 401, 429]
        limited = await client.get("/v1/declarations", headers=guesses[0])
        assert limited.status_code == 429
        assert 30 <= int(limited.headers["Retry-After"]) <= 60
        assert "too many requests with unknown API keys from 127.0.0.1" in limited.json()["detail"]
        assert (await client.get("/v1/declarations", headers=TRADER_KEY)).status_code == 200


def _declaration(lrn: str) -> dict[str, Any]:
    return payloads.customs_only("84713000", "CN") | {"lrn": lrn}


async def _held_for_its_duties_only(system: System, declaration_id: str) -> dict[str, Any]:
    """The declaration once plant health has released it and customs holds it until its duties are paid: nothing
    but its declarant (paying, amending, cancelling) changes it after."""

    async def settled() -> dict[str, Any] | None:
        body = await clearance_of(system, declaration_id)
        outcomes = {agency["agency"]: agency["outcome"] for agency in body["clearance"]["agencies"]}
        reasons = [reason["code"] for reason in body["clearance"]["reasons"]]
        return body if outcomes == {"customs": "held", "phyto": "released"} and reasons == ["DUTY_UNSECURED"] else None

    return await eventually(settled, within=30, what=f"customs to hold {declaration_id} for its duties only")
