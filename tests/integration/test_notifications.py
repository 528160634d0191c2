"""Traders and carriers hear of clearance changes: their feed, server-sent events and signed webhooks delivered to
a real HTTP receiver, retried, disabled when failing, enabled again without losing a notice; never delivered to a
target the allow-list does not allow, whether by its name, by the address the name resolves to, or any more."""

import json
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.domain.notifications import TargetPolicy
from services.gateway.entrypoints.http import create_app as gateway_app
from tests.integration.test_flow import submit_declaration, wait_for_status
from tests.support import payloads
from tests.support.in_process import (
    CARRIER_KEY,
    CUSTOMS_OFFICER_KEY,
    OTHER_TRADER_KEY,
    TRADER_KEY,
    System,
)
from tests.support.serving import events, served
from tests.support.waiting import eventually
from tests.support.webhook_receiver import Receiver, verify, webhook_receiver

pytestmark = pytest.mark.integration


async def register(system: System, url: str, headers: dict[str, str] = TRADER_KEY) -> dict[str, Any]:
    response = await system.client.post("/v1/webhooks", json={"url": url, "description": "test"}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def feed(system: System, headers: dict[str, str] = TRADER_KEY) -> list[dict[str, Any]]:
    response = await system.client.get("/v1/notifications", params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def about(declaration_id: str, notices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in notices if n["data"]["declaration_id"] == declaration_id]


async def attempts_of(system: System, webhook_id: str) -> list[dict[str, Any]]:
    log = (await system.client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=TRADER_KEY)).json()
    return sorted((a for d in log["items"] for a in d["attempts"]), key=lambda a: a["at"])


async def disabled(system: System, webhook_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = (await system.client.get(f"/v1/webhooks/{webhook_id}", headers=TRADER_KEY)).json()
        return body if body["status"] == "disabled" else None

    return await eventually(probe, within=30, what=f"webhook {webhook_id} to be disabled")


def allow_only(system: System, monkeypatch: pytest.MonkeyPatch, *hosts: str) -> None:
    """As if the operator restarted the gateway with this allow-list: registration, enabling and delivery use it."""
    targets = TargetPolicy(schemes=system.gateway.webhook_targets.schemes, hosts=frozenset(hosts))
    monkeypatch.setattr(system.gateway, "webhook_targets", targets)
    monkeypatch.setattr(system.gateway.webhook_dispatcher, "targets", targets)


async def received_until(receiver: Receiver, declaration_id: str, state: str) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        notices = about(declaration_id, [r.notice for r in receiver.snapshot()])
        return notices if any(n["data"].get("state") == state for n in notices) else None

    return await eventually(probe, within=30, what=f"a webhook saying {declaration_id} is {state}")


async def test_webhook_receives_every_clearance_change_signed_and_in_the_feed(system: System) -> None:
    with webhook_receiver() as receiver:
        webhook = await register(system, receiver.url)
        assert webhook["secret"].startswith("whsec_")
        assert webhook["status"] == "active"
        declaration_id = await submit_declaration(system, payloads.customs_only("84713000", "CN"))

        notices = await received_until(receiver, declaration_id, "released")
        for request in receiver.snapshot():
            assert verify(webhook["secret"], request.headers, request.body, time.time()), request.headers
            assert request.headers["webhook-id"] == request.notice["id"]
            assert not verify(webhook["secret"], request.headers, request.body + b" ", time.time())
            assert not verify(webhook["secret"], request.headers, request.body, time.time() + 3600)  # a replay
        assert {n["type"] for n in notices} == {"clearance.changed"}
        assert notices[-1]["data"] | {"at": None} == {
            "declaration_id": declaration_id,
            "lrn": notices[-1]["data"]["lrn"],
            "declaration_version": 1,
            "state": "released",
            "status": "released",
            "reasons": [],
            "at": None,
        }

    # The feed holds the same notices, in the order of their sequence, with the same ids.
    listed = about(declaration_id, await feed(system))
    assert [n["id"] for n in listed] == [n["id"] for n in notices]
    assert [n["sequence"] for n in listed] == sorted(n["sequence"] for n in listed)
    log = (await system.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=TRADER_KEY)).json()
    delivered = [d for d in log["items"] if d["notification_id"] in {n["id"] for n in notices}]
    assert {d["state"] for d in delivered} == {"delivered"}
    assert all(d["attempts"][-1]["status_code"] == 204 for d in delivered)


async def test_failing_webhook_is_retried_with_backoff_disabled_then_enabled_and_loses_nothing(
    system: System,
) -> None:
    with webhook_receiver() as receiver:
        receiver.answering(500)
        webhook = await register(system, receiver.url)
        declaration_id = await submit_declaration(system, payloads.customs_only("84713000", "CN"))
        await wait_for_status(system, declaration_id, "released")

        state = await disabled(system, webhook["id"])
        assert "4 delivery attempts failed within 60 s" in state["disabled_reason"]
        assert "HTTP 500" in state["disabled_reason"]
        log = (await system.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=TRADER_KEY)).json()
        attempts = await attempts_of(system, webhook["id"])
        assert len(attempts) == 4
        assert all((a["succeeded"], a["status_code"]) == (False, 500) for a in attempts)
        # Retries of one delivery wait at least the backoff: 0.1 s, then doubling up to 0.4 s.
        retried = next(d for d in log["items"] if len(d["attempts"]) > 1)
        gaps = [
            (datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
            for a, b in zip(retried["attempts"], retried["attempts"][1:], strict=False)
        ]
        assert gaps
        assert all(gap >= min(0.4, 0.1 * 2**n) for n, gap in enumerate(gaps)), gaps
        posts_when_disabled = len(receiver.snapshot())

        receiver.answering(200)
        enabled = await system.client.post(f"/v1/webhooks/{webhook['id']}/enable", headers=TRADER_KEY)
        assert (enabled.status_code, enabled.json()["status"], enabled.json()["disabled_reason"]) == (
            200,
            "active",
            None,
        )
        notices = about(declaration_id, await feed(system))

        async def all_delivered() -> bool:
            ok = [r.notice["id"] for r in receiver.snapshot()[posts_when_disabled:]]
            return {n["id"] for n in notices} <= set(ok)

        await eventually(all_delivered, within=30, what="every notice delivered once the webhook is enabled")
    assert len(receiver.snapshot()) > posts_when_disabled


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data", "host 169.254.169.254 is not on the webhook allow-list"),
        ("http://gateway.internal/hook", "host gateway.internal is not on the webhook allow-list"),
        ("ftp://127.0.0.1/hook", "scheme ftp is not allowed"),
        ("http://user:pw@127.0.0.1/hook", "credentials in the URL are not allowed"),
        ("not a url", "scheme (none) is not allowed"),
    ],
)
async def test_webhook_target_must_be_an_allowed_host_and_scheme(system: System, url: str, why: str) -> None:
    response = await system.client.post("/v1/webhooks", json={"url": url}, headers=TRADER_KEY)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["path"], why in error["message"]) == ("body.url", True), error


async def test_an_allowed_host_name_that_resolves_to_loopback_is_not_called(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # localhost is on the allow-list by name, its address 127.0.0.1 is not: the name does not make it allowed.
    allow_only(system, monkeypatch, "localhost", "hooks.example.org")
    with webhook_receiver() as receiver:
        webhook = await register(system, receiver.url.replace("127.0.0.1", "localhost"))
        await submit_declaration(system, payloads.customs_only("84713000", "CN"))

        async def refused() -> list[dict[str, Any]] | None:
            attempts = await attempts_of(system, webhook["id"])
            return attempts if len(attempts) >= 2 else None

        attempts = await eventually(refused, within=30, what="delivery attempts in the webhook's log")
        assert receiver.snapshot() == []
    for attempt in attempts:
        assert (attempt["succeeded"], attempt["status_code"]) == (False, None)
        error = attempt["error"]
        assert error.startswith("refused by the webhook target policy: host localhost resolves to "), error
        assert "127.0.0.1" in error, error
        assert error.endswith(": not a public address, and not an address on the webhook allow-list"), error


async def test_a_tightened_allow_list_stops_deliveries_and_the_webhook_is_not_enabled_again(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_receiver() as receiver:
        webhook = await register(system, receiver.url)
        allow_only(system, monkeypatch, "localhost", "hooks.example.org")  # 127.0.0.1 is no longer allowed
        await submit_declaration(system, payloads.customs_only("84713000", "CN"))

        state = await disabled(system, webhook["id"])
        assert state["disabled_reason"].endswith(
            "the last: refused by the webhook target policy: host 127.0.0.1 is not on the webhook allow-list"
        ), state
        assert receiver.snapshot() == []
        enabled = await system.client.post(f"/v1/webhooks/{webhook['id']}/enable", headers=TRADER_KEY)
        assert enabled.status_code == 422, enabled.text
        assert [(e["path"], e["message"]) for e in enabled.json()["errors"]] == [
            ("body.url", "host 127.0.0.1 is not on the webhook allow-list")
        ]
        assert (await disabled(system, webhook["id"]))["disabled_reason"] == state["disabled_reason"]


async def test_a_webhook_is_its_owners_alone(system: System) -> None:
    with webhook_receiver() as receiver:
        webhook = await register(system, receiver.url)
    path = f"/v1/webhooks/{webhook['id']}"
    for method, suffix in [("GET", ""), ("GET", "/deliveries"), ("POST", "/enable"), ("DELETE", "")]:
        response = await system.client.request(method, path + suffix, headers=OTHER_TRADER_KEY)
        assert response.status_code == 404, (method, suffix, response.text)
    assert webhook["id"] not in [
        w["id"] for w in (await system.client.get("/v1/webhooks", headers=OTHER_TRADER_KEY)).json()
    ]
    officer = await system.client.get("/v1/webhooks", headers=CUSTOMS_OFFICER_KEY)
    assert officer.status_code == 403
    assert (await system.client.get("/v1/notifications", headers=CUSTOMS_OFFICER_KEY)).status_code == 403
    listed = (await system.client.get("/v1/webhooks", headers=TRADER_KEY)).json()
    assert "secret" not in next(w for w in listed if w["id"] == webhook["id"])
    assert (await system.client.delete(path, headers=TRADER_KEY)).status_code == 204
    assert (await system.client.get(path, headers=TRADER_KEY)).status_code == 404


async def test_carrier_hears_the_release_of_goods_it_presents_without_trade_details(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("84713000", "CN"))
    await wait_for_status(system, declaration_id, "released")  # lodged and decided before arrival
    with webhook_receiver() as receiver:
        webhook = await register(system, receiver.url, headers=CARRIER_KEY)
        arrival = {"location": "GBDVR", "transport_reference": "P&O Pioneer"}
        response = await system.client.post(
            f"/v1/declarations/{declaration_id}/arrival", json=arrival, headers=CARRIER_KEY
        )
        assert response.status_code == 201, response.text
        notices = await received_until(receiver, declaration_id, "released")
        assert verify(webhook["secret"], receiver.snapshot()[-1].headers, receiver.snapshot()[-1].body, time.time())
    assert set(notices[-1]["data"]) == {"declaration_id", "transport_reference", "location", "state", "status", "at"}
    assert notices[-1]["data"]["transport_reference"] == "P&O Pioneer"
    trader = about(declaration_id, await feed(system))
    assert trader[-1]["type"] == "goods.arrived"
    assert about(declaration_id, await feed(system, OTHER_TRADER_KEY)) == []


async def test_server_sent_events_follow_the_feed_resume_and_reach_any_gateway_instance(system: System) -> None:
    # A second gateway instance on the same database serves the stream: notices come through the database.
    other = gateway_app(bootstrap_gateway(system.gateway.settings))
    async with served(other) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        async with client.stream("GET", "/v1/notifications/stream", headers=TRADER_KEY) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lodged = [await submit_declaration(system, payloads.customs_only("84713000", "CN")) for _ in range(2)]
            seen, released = [], set()
            async for event in events(response):
                notice = json.loads(event["data"])
                assert (event["event"], int(event["id"])) == (notice["type"], notice["sequence"])
                seen.append(notice)
                if notice["data"]["state"] == "released":
                    released.add(notice["data"]["declaration_id"])
                if released == set(lodged):
                    break
        assert [n["id"] for n in seen] == [n["id"] for n in await feed(system)]

        # Reconnecting with Last-Event-ID resumes right after it.
        resume = {"Last-Event-ID": str(seen[0]["sequence"]), **TRADER_KEY}
        async with client.stream("GET", "/v1/notifications/stream", headers=resume) as response:
            first = await anext(events(response))
        assert json.loads(first["data"])["id"] == seen[1]["id"]
        refused = await client.get("/v1/notifications/stream", headers=CUSTOMS_OFFICER_KEY)
        assert refused.status_code == 403
    await other.state.gateway.runtime.engine.dispose()


@pytest.mark.parametrize("path", ["/v1/notifications", "/v1/notifications/stream"])
async def test_a_sequence_past_what_the_database_holds_is_refused_with_422(system: System, path: str) -> None:
    response = await system.client.get(path, params={"after": 2**63}, headers=TRADER_KEY)
    assert response.status_code == 422
    assert [error["path"] for error in response.json()["errors"]] == ["query.after"]
