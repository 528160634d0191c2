"""The gateway's HTTP contract: bad input is refused clearly and publishes nothing; roles are enforced."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.gateway.adapters.orm import outbox
from tests.support import payloads
from tests.support.in_process import NPPO_KEY, OTHER_TRADER_KEY, TRADER_KEY, System
from tests.support.serving import served

pytestmark = pytest.mark.integration


async def outbox_size(system: System) -> int:
    async with system.gateway.runtime.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(outbox)) or 0)


async def test_invalid_declaration_gets_422_with_each_field_path_and_publishes_nothing(system: System) -> None:
    body: dict[str, Any] = payloads.declaration(None)
    body["goods_items"][0] |= {"origin_country": "nl", "commodity_code": "12"}
    del body["importer"]
    before = await outbox_size(system)

    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    paths = {error["path"] for error in response.json()["errors"]}
    assert paths == {
        "body.importer",
        "body.goods_items.0.origin_country",
        "body.goods_items.0.commodity_code",
    }
    assert await outbox_size(system) == before


async def test_malformed_json_gets_422(system: System) -> None:
    response = await system.client.post(
        "/v1/declarations", content=b'{"lrn": ', headers={**TRADER_KEY, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "JSON decode error"


@pytest.mark.parametrize("path", ["/v1/declarations", "/v1/webhooks"])  # a body the gateway reads; one FastAPI reads
@pytest.mark.parametrize(
    ("body", "where", "message"),
    [(b'{"lrn": "\xff"}', "body.9", "byte 9 is not UTF-8"), (b"[" * 100_000, "body", "nested too deeply")],
)
async def test_a_body_json_cannot_decode_gets_422_saying_where(
    system: System, path: str, body: bytes, where: str, message: str
) -> None:
    response = await system.client.post(path, content=body, headers={**TRADER_KEY, "content-type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == where
    assert message in error["message"]


async def test_same_lrn_same_body_returns_the_first_and_other_body_conflicts(system: System) -> None:
    body = payloads.declaration(None)
    first = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    again = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    other = await system.client.post("/v1/declarations", json=body | {"point_of_entry": "GBFXT"}, headers=TRADER_KEY)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"]
    assert other.json()["errors"][0]["path"] == "body.lrn"


async def test_a_trader_cannot_declare_for_another_declarant(system: System) -> None:
    body = payloads.declaration(None, declarant={"id": "GB987654321000"})
    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert response.status_code == 403
    assert response.json()["errors"][0]["path"] == "body.declarant.id"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-API-Key": "not-a-key-at-all"}, 401), (TRADER_KEY, 403)],
)
async def test_only_an_nppo_may_deliver_certificates(system: System, headers: dict[str, str], status: int) -> None:
    response = await system.client.post("/v1/certificates", json=payloads.certificate("NL-X-1"), headers=headers)
    assert response.status_code == status


async def test_an_nppo_delivers_only_its_own_countrys_certificates(system: System) -> None:
    body = payloads.certificate(payloads.certificate_number(), issuing_country="KE")
    response = await system.client.post("/v1/certificates", json=body, headers=NPPO_KEY)
    assert response.status_code == 403


async def test_certificate_redelivery_returns_the_stored_one_and_changed_content_conflicts(system: System) -> None:
    body = payloads.certificate(payloads.certificate_number())
    first = await system.client.post("/v1/certificates", json=body, headers=NPPO_KEY)
    again = await system.client.post("/v1/certificates", json=body, headers=NPPO_KEY)
    changed = await system.client.post("/v1/certificates", json=body | {"point_of_entry": "GBFXT"}, headers=NPPO_KEY)
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 409)


async def test_a_trader_reads_a_certificate_only_when_its_declaration_cites_it(system: System) -> None:
    cited, uncited = payloads.certificate_number(), payloads.certificate_number()
    await system.client.post("/v1/declarations", json=payloads.declaration(cited), headers=TRADER_KEY)
    ids = []
    for number in (cited, uncited):
        response = await system.client.post("/v1/certificates", json=payloads.certificate(number), headers=NPPO_KEY)
        ids.append(response.json()["id"])
    assert (await system.client.get(f"/v1/certificates/{ids[0]}", headers=TRADER_KEY)).status_code == 200
    assert (await system.client.get(f"/v1/certificates/{ids[1]}", headers=TRADER_KEY)).status_code == 404


async def test_an_oversized_body_is_refused_with_413(system: System) -> None:
    limit = system.gateway.settings.max_body_bytes
    response = await system.client.post(
        "/v1/declarations", content=b" " * (limit + 1), headers={**TRADER_KEY, "content-type": "application/json"}
    )
    assert response.status_code == 413


def padded(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON, padded to `size` bytes with trailing whitespace: still a body the gateway would accept."""
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


async def chunked(body: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`body` from a generator: httpx sends it chunked, without a Content-Length."""
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["title"], problem["detail"]) == ("Request too large", f"the body must not exceed {limit} bytes")
    assert problem["correlation_id"] == response.headers["x-correlation-id"]


async def test_a_chunked_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(system: System) -> None:
    limit = system.gateway.settings.max_body_bytes
    body = padded(payloads.declaration(None), 2 * limit)
    before = await outbox_size(system)
    async with served(system.app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            "/v1/declarations", content=chunked(body), headers={**TRADER_KEY, "content-type": "application/json"}
        )
        assert_too_large(response, limit)
        # The server reads the rest of the refused body and drops it: the connection serves the next request.
        assert (await client.get("/v1/declarations", headers=TRADER_KEY)).status_code == 200
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert await outbox_size(system) == before


async def test_a_chunked_body_under_the_limit_is_accepted(system: System) -> None:
    limit = system.gateway.settings.max_body_bytes
    body = padded(payloads.declaration(None), limit)
    before = await outbox_size(system)
    async with served(system.app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            "/v1/declarations", content=chunked(body), headers={**TRADER_KEY, "content-type": "application/json"}
        )
    assert response.status_code == 201, response.text
    assert await outbox_size(system) > before


async def test_a_chunked_body_over_the_limit_that_fastapi_reads_gets_413_not_400(system: System) -> None:
    limit = system.gateway.settings.max_body_bytes
    body = padded({"url": "https://hooks.example.org/single-window"}, limit + 1)
    async with served(system.app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        before = (await client.get("/v1/webhooks", headers=TRADER_KEY)).json()
        response = await client.post(
            "/v1/webhooks", content=chunked(body), headers={**TRADER_KEY, "content-type": "application/json"}
        )
        assert_too_large(response, limit)
        assert (await client.get("/v1/webhooks", headers=TRADER_KEY)).json() == before


async def test_a_body_longer_than_its_content_length_says_is_held_to_the_limit(system: System) -> None:
    # Only in process: a real server (h11) reads no more than the Content-Length it was given.
    limit = system.gateway.settings.max_body_bytes
    before = await outbox_size(system)
    response = await system.client.post(
        "/v1/declarations",
        content=padded(payloads.declaration(None), 2 * limit),
        headers={**TRADER_KEY, "content-type": "application/json", "content-length": "10"},
    )
    assert response.request.headers["content-length"] == "10"
    assert_too_large(response, limit)
    assert await outbox_size(system) == before


async def test_concurrent_identical_submissions_create_one_declaration(system: System) -> None:
    body = payloads.declaration(None)
    responses = await asyncio.gather(
        *(system.client.post("/v1/declarations", json=body, headers=TRADER_KEY) for _ in range(6))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(system: System) -> None:
    key = {"Idempotency-Key": f"key-{payloads.certificate_number()}"}
    body = payloads.declaration(None)
    first = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY | key)
    again = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY | key)
    other = await system.client.post("/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY | key)

    assert (first.status_code, again.status_code) == (201, 201)  # the same answer, status included
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]


async def test_an_idempotency_key_belongs_to_its_caller(system: System) -> None:
    key = {"Idempotency-Key": f"shared-{payloads.certificate_number()}"}
    mine = await system.client.post("/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY | key)
    theirs = payloads.declaration(None, declarant={"id": "GB987654321000"}, importer={"id": "GB987654321000"})
    other = await system.client.post("/v1/declarations", json=theirs, headers=OTHER_TRADER_KEY | key)
    assert (mine.status_code, other.status_code) == (201, 201)
    assert mine.json()["id"] != other.json()["id"]


async def test_a_malformed_idempotency_key_is_refused(system: System) -> None:
    response = await system.client.post(
        "/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY | {"Idempotency-Key": "has space"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "header.Idempotency-Key"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/webhooks", {"url": "https://hooks.example.org/sw", "description": "a\u0000b"}, "description"),
        ("/v1/webhooks", {"url": "https://hooks.example.org/s\u0000w"}, "url"),
        ("/v1/declarations", payloads.declaration(None, lrn="LRN-NUL\u0000"), "lrn"),
    ],
    ids=["description", "url", "lrn"],
)
async def test_a_nul_character_in_text_is_refused_naming_the_field(
    system: System, path: str, body: dict[str, Any], field: str
) -> None:
    """PostgreSQL text cannot hold U+0000: it is refused at the edge (422), never a 500 from the database."""
    response = await system.client.post(path, json=body, headers=TRADER_KEY)
    assert response.status_code == 422, response.text
    assert [problem["path"] for problem in response.json()["errors"]] == [f"body.{field}"]
