"""A trader follows its consignment as the gateway process pushes it: server-sent events and a signed webhook
carry the same transitions as the clearance topic."""

import json
import time
from typing import Any

import httpx
import pytest

from deploy.stack import Stack
from tests.e2e.api_client import GatewayClient
from tests.e2e.test_single_window import about, read
from tests.support import payloads
from tests.support.in_process import TRADER_KEY
from tests.support.independent_kafka import Record
from tests.support.serving import events
from tests.support.waiting import eventually
from tests.support.webhook_receiver import verify, webhook_receiver

pytestmark = pytest.mark.e2e


async def test_stream_webhook_and_clearance_topic_tell_the_same_story(stack: Stack, gateway: GatewayClient) -> None:
    gateway_url = stack.services[0].url
    number = payloads.certificate_number()
    with webhook_receiver() as receiver:
        async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
            created = await http.post("/v1/webhooks", json={"url": receiver.url}, headers=TRADER_KEY)
            assert created.status_code == 201, created.text
            secret = created.json()["secret"]
            streamed: list[dict[str, Any]] = []
            async with http.stream("GET", "/v1/notifications/stream", headers=TRADER_KEY) as stream:
                declaration_id = await gateway.lodge(payloads.declaration(number))
                async for event in events(stream):
                    notice = json.loads(event["data"])
                    if notice["data"]["declaration_id"] != declaration_id:
                        continue
                    streamed.append(notice)
                    if notice["data"]["state"] == "partially_held":
                        await gateway.deliver(payloads.certificate(number))
                    if notice["data"]["state"] == "released":
                        break

        async def delivered() -> list[Any] | None:
            mine = [r for r in receiver.snapshot() if r.notice["data"]["declaration_id"] == declaration_id]
            return mine if len(mine) == len(streamed) else None

        posts = await eventually(delivered, within=30, what="the webhook to receive every notice")
    assert all(verify(secret, post.headers, post.body, time.time()) for post in posts)
    assert sorted(post.notice["id"] for post in posts) == sorted(notice["id"] for notice in streamed)

    def released(records: list[Record]) -> bool:
        return any(r.payload["state"] == "released" for r in about(declaration_id, records))

    clearance = about(declaration_id, await read(stack, "clearance", released))
    assert [r.payload["state"] for r in clearance] == [n["data"]["state"] for n in streamed]
    assert [n["data"]["state"] for n in streamed][-2:] == ["partially_held", "released"]
