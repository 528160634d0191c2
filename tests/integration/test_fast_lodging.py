"""The fast path for an ordinary JSON declaration (entrypoints/fast_lodging.py): it lodges what the route lodges and
answers what the route answers; every other submission gets the route's own answer."""

import copy
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.gateway.adapters.orm import audit_log, timeline
from services.gateway.bootstrap import bootstrap
from services.gateway.entrypoints.fast_lodging import LaneCounts
from services.gateway.entrypoints.http import create_app
from tests.integration.test_flow import wait_for_status
from tests.support import payloads
from tests.support.in_process import CUSTOMS_OFFICER_KEY, OTHER_TRADER_KEY, TRADER_KEY, System

pytestmark = pytest.mark.integration
VARYING = re.compile(
    r"[0-9A-HJKMNP-TV-Z]{26}"  # ids
    r"|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)"  # times
    r"|LRN-[0-9a-f]{12}"  # the LRNs the tests make unique
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # correlation ids
)


def same_shape(answer: httpx.Response) -> tuple[int, str]:
    """An answer with what differs from one submission to the next (ids, times, LRNs) blanked."""
    return answer.status_code, VARYING.sub("~", answer.text)


@asynccontextmanager
async def gateway_app(system: System, **settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, LaneCounts]]:
    """Another application of the system's gateway, on its database, with `settings` changed; and its fast path's
    counts."""
    changed = system.gateway.settings.model_copy(update=settings)
    app = create_app(bootstrap(changed))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app.state.fast_lodging
    finally:
        await app.state.gateway.runtime.engine.dispose()


def lanes(system: System) -> LaneCounts:
    counts: LaneCounts = system.app.state.fast_lodging
    return counts


async def test_an_ordinary_declaration_is_lodged_on_the_fast_path_as_the_route_lodges_it(system: System) -> None:
    counts = lanes(system)
    taken, passed = counts.taken, counts.passed
    body = payloads.customs_only("84713000", "CN")
    fast = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert (fast.status_code, counts.taken, counts.passed) == (201, taken + 1, passed), fast.text
    async with gateway_app(system, fast_lodging=False) as (routed_client, routed_counts):
        body = payloads.customs_only("84713000", "CN")
        routed = await routed_client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert routed.status_code == 201, routed.text
    assert (routed_counts.taken, routed_counts.passed) == (0, 0)
    assert same_shape(fast) == same_shape(routed)
    assert fast.headers["location"] == f"/v1/declarations/{fast.json()['id']}"

    # The same rows: its timeline entry, and its audit record as the trader's own act.
    ids = [fast.json()["id"], routed.json()["id"]]
    async with system.gateway.runtime.engine.connect() as connection:
        submitted = select(timeline).where(timeline.c.declaration_id.in_(ids), timeline.c.kind == "submitted")
        entries = {row.declaration_id: row.detail for row in await connection.execute(submitted)}
        lodged = select(audit_log).where(audit_log.c.subject.in_(ids), audit_log.c.action == "DeclarationSubmitted")
        actors = {row.subject: row.actor for row in await connection.execute(lodged)}
    assert entries[ids[0]] == entries[ids[1]]
    assert actors[ids[0]] == actors[ids[1]]
    assert actors[ids[0]].startswith("trader:GB123456789000")

    # Its event went out through the outbox: customs decided it.
    await wait_for_status(system, ids[0], "released")


def refusals() -> list[tuple[str, dict[str, str], Any]]:
    """Submissions the fast path must leave to the route: what, headers, body (a dict is sent as JSON)."""
    declaration = payloads.declaration()
    unknown_field = copy.deepcopy(declaration) | {"colour": "red"}
    wrong_type = copy.deepcopy(declaration)
    wrong_type["goods_items"][0]["quantity"] = "many"
    amendment = copy.deepcopy(declaration) | {"function_code": "13"}
    return [
        ("no key", {}, declaration),
        ("an unknown key", {"X-API-Key": "sw_not-a-key-of-anyone-0000000"}, declaration),
        ("an officer's key", CUSTOMS_OFFICER_KEY, declaration),
        ("another trader's declaration", OTHER_TRADER_KEY, declaration),
        ("a field the model does not know", TRADER_KEY, unknown_field),
        ("a field of the wrong type", TRADER_KEY, wrong_type),
        ("an amendment's function code", TRADER_KEY, amendment),
        ("JSON cut short", TRADER_KEY, b'{"lrn": "LRN-1", "declarant": {'),
        ("not JSON at all", TRADER_KEY, b"\xff\xfe not json"),
    ]


@pytest.mark.parametrize(("what", "headers", "body"), refusals(), ids=[case[0] for case in refusals()])
async def test_a_refused_submission_gets_the_routes_answer(
    system: System, what: str, headers: dict[str, str], body: Any
) -> None:
    counts = lanes(system)
    taken = counts.taken
    sent = {"json": body} if isinstance(body, dict) else {"content": body}
    json_type = {"Content-Type": "application/json"}
    fast = await system.client.post("/v1/declarations", headers=headers | json_type, **sent)
    async with gateway_app(system, fast_lodging=False) as (routed_client, _):
        routed = await routed_client.post("/v1/declarations", headers=headers | json_type, **sent)
    assert 400 <= fast.status_code < 500, fast.text
    assert same_shape(fast) == same_shape(routed), what
    assert counts.taken == taken, f"{what} was answered on the fast path"


async def test_an_lrn_used_before_gets_the_routes_answer_with_the_same_body_or_another(system: System) -> None:
    declaration = payloads.declaration()
    first = await system.client.post("/v1/declarations", json=declaration, headers=TRADER_KEY)
    assert first.status_code == 201, first.text
    other = copy.deepcopy(declaration)
    other["goods_items"][0]["description"] = "something else entirely"
    async with gateway_app(system, fast_lodging=False) as (routed_client, _):
        for body, status in ((declaration, 200), (other, 409)):
            fast = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
            routed = await routed_client.post("/v1/declarations", json=body, headers=TRADER_KEY)
            assert fast.status_code == status, fast.text
            assert same_shape(fast) == same_shape(routed)


async def test_idempotency_keys_and_xml_go_to_the_route(system: System) -> None:
    counts = lanes(system)
    taken, passed = counts.taken, counts.passed
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    declaration = payloads.declaration()
    first = await system.client.post("/v1/declarations", json=declaration, headers=TRADER_KEY | key)
    again = await system.client.post("/v1/declarations", json=declaration, headers=TRADER_KEY | key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["idempotent-replayed"] == "true"
    xml = await system.client.post(
        "/v1/declarations", content=b"<not-a-declaration/>", headers=TRADER_KEY | {"Content-Type": "application/xml"}
    )
    assert 400 <= xml.status_code < 500, xml.text
    assert (counts.taken, counts.passed) == (taken, passed), "none of them is the fast path's"


async def test_a_key_over_its_rate_gets_the_routes_429(system: System) -> None:
    async with gateway_app(system, rate_limit_per_second=0.001, rate_limit_burst=1) as (client, counts):
        first = await client.post("/v1/declarations", json=payloads.declaration(), headers=TRADER_KEY)
        second = await client.post("/v1/declarations", json=payloads.declaration(), headers=TRADER_KEY)
    assert (first.status_code, second.status_code) == (201, 429), second.text
    assert "retry-after" in second.headers
    assert (counts.taken, counts.passed) == (1, 1)


async def test_a_submission_the_route_refuses_counts_once_against_its_keys_rate(system: System) -> None:
    """The fast path took the request's token, then handed the request on: it gives the token back."""
    async with gateway_app(system, rate_limit_per_second=0.001, rate_limit_burst=2) as (client, counts):
        forbidden = await client.post("/v1/declarations", json=payloads.declaration(), headers=OTHER_TRADER_KEY)
        others = payloads.declaration(declarant={**payloads.declaration()["declarant"], "id": "GB987654321000"})
        accepted = await client.post("/v1/declarations", json=others, headers=OTHER_TRADER_KEY)
        limited = await client.post("/v1/declarations", json=others, headers=OTHER_TRADER_KEY)
    assert [forbidden.status_code, accepted.status_code, limited.status_code] == [403, 201, 429], accepted.text
    assert (counts.taken, counts.passed) == (1, 2)
