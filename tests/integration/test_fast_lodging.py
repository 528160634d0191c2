"""The fast paths for an ordinary JSON declaration and an ordinary certificate (entrypoints/fast_lodging.py): they
submit what the route submits and answer what the route answers; every other submission gets the route's own answer."""

import copy
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.gateway.adapters.orm import audit_log, timeline
from services.gateway.adapters.safe_xml import ON_THE_LOOP_BYTES
from services.gateway.bootstrap import bootstrap
from services.gateway.domain.callers import Role
from services.gateway.entrypoints import fast_lodging, http
from services.gateway.entrypoints.fast_lodging import Lane, LaneCounts
from services.gateway.entrypoints.http import create_app
from tests.integration.test_flow import wait_for_status
from tests.support import payloads
from tests.support.in_process import CUSTOMS_OFFICER_KEY, NPPO_KEY, OTHER_TRADER_KEY, TRADER_KEY, System, seeded_key
from tests.unit.ephyto_attacks import billion_laughs
from tests.unit.test_ephyto_xml import roses

pytestmark = pytest.mark.integration
DECLARATIONS, CERTIFICATES = "/v1/declarations", "/v1/certificates"
XML = {"Content-Type": "application/xml"}
VARYING = re.compile(
    r"[0-9A-HJKMNP-TV-Z]{26}"  # ids
    r"|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)"  # times
    r"|LRN-[0-9a-f]{12}|NL-T-[0-9a-f]{12}"  # the LRNs and certificate numbers the tests make unique
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # correlation ids
)


def same_shape(answer: httpx.Response) -> tuple[int, str]:
    """An answer with what differs from one submission to the next (ids, times, LRNs) blanked."""
    return answer.status_code, VARYING.sub("~", answer.text)


@asynccontextmanager
async def gateway_app(
    system: System, path: str = DECLARATIONS, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, LaneCounts]]:
    """Another application of the system's gateway, on its database, with `settings` changed; and the counts of its
    fast path for `path`."""
    changed = system.gateway.settings.model_copy(update=settings)
    app = create_app(bootstrap(changed))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app.state.fast_lanes[path]
    finally:
        await app.state.gateway.runtime.engine.dispose()


def lanes(system: System, path: str = DECLARATIONS) -> LaneCounts:
    counts: LaneCounts = system.app.state.fast_lanes[path]
    return counts


def certificate_xml() -> bytes:
    """The roses certificate of NL's NPPO, with a number of its own."""
    return roses(("<ram:ID>NL-2026-000123</ram:ID>", f"<ram:ID>NL-T-{uuid.uuid4().hex[:12]}</ram:ID>"))


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


async def test_an_ordinary_certificate_is_delivered_on_the_fast_path_as_the_route_delivers_it(system: System) -> None:
    counts = lanes(system, CERTIFICATES)
    taken, passed = counts.taken, counts.passed
    document = certificate_xml()
    fast = await system.client.post(CERTIFICATES, content=document, headers=NPPO_KEY | XML)
    assert (fast.status_code, counts.taken, counts.passed) == (201, taken + 1, passed), fast.text
    again = await system.client.post(CERTIFICATES, content=document, headers=NPPO_KEY | XML)
    assert (again.status_code, counts.taken) == (200, taken + 2), again.text  # a redelivery: the stored one
    async with gateway_app(system, CERTIFICATES, fast_lodging=False) as (routed_client, routed_counts):
        other = certificate_xml()
        routed = await routed_client.post(CERTIFICATES, content=other, headers=NPPO_KEY | XML)
        routed_again = await routed_client.post(CERTIFICATES, content=other, headers=NPPO_KEY | XML)
    assert (routed.status_code, routed_again.status_code) == (201, 200), routed.text
    assert (routed_counts.taken, routed_counts.passed) == (0, 0)
    assert same_shape(fast) == same_shape(routed)
    assert same_shape(again) == same_shape(routed_again)
    assert again.json()["id"] == fast.json()["id"]
    assert fast.headers["location"] == f"/v1/certificates/{fast.json()['id']}"

    # The same rows: the document as delivered, and the audit record as the NPPO's own act.
    kept = await system.client.get(f"/v1/certificates/{fast.json()['id']}/document", headers=NPPO_KEY)
    assert kept.content == document
    subjects = [f"NL:{fast.json()['number']}", f"NL:{routed.json()['number']}"]  # the event's key
    async with system.gateway.runtime.engine.connect() as connection:
        received = select(audit_log).where(
            audit_log.c.subject.in_(subjects), audit_log.c.action == "CertificateReceived"
        )
        actors = {row.subject: row.actor for row in await connection.execute(received)}
    assert actors[subjects[0]] == actors[subjects[1]]
    assert actors[subjects[0]].startswith("nppo:NL")


async def test_a_refused_certificate_gets_the_routes_answer(system: System) -> None:
    counts = lanes(system, CERTIFICATES)
    taken = counts.taken
    delivered = certificate_xml()
    assert (await system.client.post(CERTIFICATES, content=delivered, headers=NPPO_KEY | XML)).status_code == 201
    cases = [
        ("no key", XML, certificate_xml()),
        ("a trader's key", TRADER_KEY | XML, certificate_xml()),
        ("another country's NPPO", await seeded_key(system, Role.NPPO, "KE") | XML, certificate_xml()),
        ("XML that is not well formed", NPPO_KEY | XML, certificate_xml()[:-40]),
        ("an entity expansion", NPPO_KEY | XML, billion_laughs()),
        ("not a certificate", NPPO_KEY | XML, b"<Invoice/>"),
        ("JSON with a field the model does not know", NPPO_KEY, {**payloads.certificate("NL-T-0"), "colour": "red"}),
        ("another content under a number taken", NPPO_KEY | XML, delivered.replace(b"Rosa", b"Tulipa", 1)),
    ]
    async with gateway_app(system, CERTIFICATES, fast_lodging=False) as (routed_client, _):
        for what, headers, body in cases:
            sent = {"json": body} if isinstance(body, dict) else {"content": body}
            fast = await system.client.post(CERTIFICATES, headers=headers, **sent)
            routed = await routed_client.post(CERTIFICATES, headers=headers, **sent)
            assert 400 <= fast.status_code < 500, (what, fast.text)
            assert same_shape(fast) == same_shape(routed), what
    assert counts.taken == taken + 1, "a refusal was answered on the fast path"


async def test_a_body_is_read_only_for_a_key_the_route_admits_within_its_rate(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown key, another role's key or one over its rate costs the fast path no reading of the body; an XML
    certificate too large to read on the event loop is the route's."""
    read: list[str] = []

    def recording(lane: Lane) -> Lane:
        async def read_and_note(body: bytes, kind: str, context: Any) -> dict[str, Any]:
            read.append(lane.path)
            return await lane.read(body, kind, context)

        return dataclasses.replace(lane, read=read_and_note)

    monkeypatch.setattr(http, "lanes", lambda: [recording(lane) for lane in fast_lodging.lanes()])
    async with gateway_app(system, rate_limit_per_second=0.001, rate_limit_burst=1) as (client, counts):
        unknown = await client.post(DECLARATIONS, json=payloads.declaration(), headers={"X-API-Key": "sw_" + "x" * 40})
        officer = await client.post(DECLARATIONS, json=payloads.declaration(), headers=CUSTOMS_OFFICER_KEY)
        first = await client.post(DECLARATIONS, json=payloads.declaration(), headers=TRADER_KEY)
        over = await client.post(DECLARATIONS, json=payloads.declaration(), headers=TRADER_KEY)
        large = certificate_xml() + b" " * (ON_THE_LOOP_BYTES + 1)  # white space after the root: still the document
        certificate = await client.post(CERTIFICATES, content=large, headers=NPPO_KEY | XML)
    assert [unknown.status_code, officer.status_code, first.status_code, over.status_code] == [401, 403, 201, 429]
    assert certificate.status_code == 201, certificate.text
    assert read == [DECLARATIONS], "a body was read for a request the fast path does not take"
    assert (counts.taken, counts.passed) == (1, 3)
