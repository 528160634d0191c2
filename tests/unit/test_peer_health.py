"""How the operator overview reads a peer's /health answer: whatever a peer (or whatever listens on its address)
answers, the overview reports it and never fails."""

import json
from typing import Any

import httpx
import pytest

from services.gateway.service_layer.operations import Operations


def answering(status: int, body: str, content_type: str = "application/json") -> httpx.AsyncClient:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body.encode(), headers={"content-type": content_type})

    return httpx.AsyncClient(transport=httpx.MockTransport(respond))


async def peer(client: httpx.AsyncClient) -> dict[str, Any]:
    async with client:
        return await Operations._peer(client, "customs", "http://customs.test/health")


async def test_a_ready_peer_with_its_broker_connection() -> None:
    body = json.dumps({"status": "ok", "kafka": {"connected": True}, "failed_tasks": []})
    assert await peer(answering(200, body)) == {
        "name": "customs",
        "reachable": True,
        "status": 200,
        "ready": True,
        "kafka_connected": True,
    }


async def test_a_peer_with_a_failed_task_is_not_ready() -> None:
    body = json.dumps({"kafka": {"connected": True}, "failed_tasks": ["consumer"]})
    assert (await peer(answering(200, body)))["ready"] is False


async def test_a_peer_answering_503_is_reachable_but_not_ready() -> None:
    answer = await peer(answering(503, json.dumps({"kafka": {"connected": False}})))
    assert (answer["reachable"], answer["ready"], answer["kafka_connected"], answer["status"]) == (
        True,
        False,
        False,
        503,
    )


@pytest.mark.parametrize(
    "body",
    ['["not", "an", "object"]', "42", '"ok"', "null", '{"kafka": ["connected"]}', '{"kafka": "up"}'],
)
async def test_an_answer_that_is_not_a_service_health_object_is_reported_not_ready(body: str) -> None:
    answer = await peer(answering(200, body))
    assert (answer["reachable"], answer["ready"], answer["status"]) == (True, False, 200)
    assert answer["error"] == "its health answer is not the JSON object a service gives"


async def test_an_answer_that_is_not_json_counts_by_its_status() -> None:
    assert (await peer(answering(200, "<html>hello</html>", "text/html")))["ready"] is True
    broken = await peer(answering(200, "{not json", "application/json"))
    assert (broken["reachable"], broken["ready"]) == (False, False)
    assert broken["error"].startswith("JSONDecodeError")


async def test_a_peer_that_refuses_the_connection_is_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    answer = await peer(httpx.AsyncClient(transport=httpx.MockTransport(refuse)))
    assert answer == {
        "name": "customs",
        "reachable": False,
        "ready": False,
        "error": "ConnectError: connection refused",
    }
