"""The OpenAPI document walked: every request body and every success response has examples, every example
validates against its schema, and sending each request, in a trader's story over real HTTP, gets the status the
document promises and a body its schema describes."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.integration.test_flow import wait_for_status
from tests.support.in_process import (
    CARRIER_KEY,
    NPPO_KEY,
    OPERATOR_KEY,
    PHYTO_OFFICER_KEY,
    TRADER_KEY,
    WEBHOOKS_ON_LOOPBACK,
    System,
)
from tests.support.serving import served
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
XML = "application/xml"


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def examples(operation: dict[str, Any], media_type: str = "application/json") -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {}).get(media_type, {})
    return {name: example["value"] for name, example in content.get("examples", {}).items()}


def success(operation: dict[str, Any]) -> int:
    """The status an operation promises first: the lowest 2xx it documents after its default."""
    documented = [int(status) for status in operation["responses"] if status.startswith("2")]
    return documented[0]


async def test_every_request_body_has_examples_that_validate(system: System) -> None:
    spec = system.app.openapi()
    for method, path, operation in operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        for media_type in content:
            named = examples(operation, media_type)
            assert named, f"{method} {path} has no {media_type} example"
            check = validator(spec, content[media_type]["schema"])
            for name, value in named.items():
                problems = [error.message for error in check.iter_errors(value)]
                assert problems == [], f"{method} {path} example {name!r}: {problems}"


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": spec["components"]})


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        found: dict[str, Any] = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return found
    return schema


def response_examples(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples of a response media type: its own, else its schema's (a list's: one of its items')."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [example["value"] for example in media["examples"].values()]
    schema = resolved(spec, media.get("schema", {}))
    if schema.get("type") == "array":
        return [[item] for item in resolved(spec, schema["items"]).get("examples", [])]
    return list(schema.get("examples", []))


async def test_every_success_response_has_examples_that_validate(system: System) -> None:
    spec = system.app.openapi()
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, media in response.get("content", {}).items():
                named = response_examples(spec, media)
                assert named, f"{method} {path} {status} has no {media_type} example"
                if "schema" not in media:
                    continue
                for example in named:
                    problems = [error.message for error in validator(spec, media["schema"]).iter_errors(example)]
                    assert problems == [], f"{method} {path} {status} example: {problems}"


def test_problem_details_have_an_example(system: System) -> None:
    spec = system.app.openapi()
    [example] = spec["components"]["schemas"]["Problem"]["examples"]
    assert example["errors"][0]["path"].startswith("body.")


def test_errors_are_documented_as_the_problem_details_they_are(system: System) -> None:
    """Each operation that needs a key documents 401, 403 and 429 (and 415 if it reads XML too), and every error as
    application/problem+json, the type the gateway sends, with the Problem schema."""
    spec = system.app.openapi()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for method, path, operation in operations(spec):
        if "security" not in operation:
            continue
        errors = {status: response for status, response in operation["responses"].items() if int(status) >= 400}
        expected = {"401", "403", "429"} | ({"415"} if examples(operation, XML) else set())
        assert expected <= errors.keys(), f"{method} {path} documents {sorted(errors)}"
        for status, response in errors.items():
            assert response["content"] == problem, f"{method} {path} {status}"


class Walk:
    """Sends each operation once and remembers which were sent, so that none is forgotten."""

    def __init__(self, client: httpx.AsyncClient, spec: dict[str, Any]) -> None:
        self.client = client
        self.spec = spec
        self.sent: set[tuple[str, str]] = set()
        self.bodies: set[tuple[str, str, str]] = set()

    async def send(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        media_type: str = "application/json",
        **ids: str,
    ) -> httpx.Response:
        operation = self.spec["paths"][path][method.lower()]
        body = examples(operation, media_type)
        content: Any = None
        if body:
            value = next(iter(body.values()))
            content = (value if isinstance(value, str) else json.dumps(value)).encode()
        response = await self.client.request(
            method,
            path.format(**ids),
            content=content,
            headers={**(headers or {}), **({"content-type": media_type} if content is not None else {})},
        )
        assert response.status_code == success(operation), f"{method} {path}: {response.status_code} {response.text}"
        documented = operation["responses"][str(response.status_code)].get("content", {}).get("application/json")
        if documented is not None and "schema" in documented:
            problems = [e.message for e in validator(self.spec, documented["schema"]).iter_errors(response.json())]
            assert problems == [], f"{method} {path}: the response breaks its schema: {problems}"
        self.sent.add((method, path))
        if content is not None:
            self.bodies.add((method, path, media_type))
        return response


async def test_sending_every_example_gets_the_documented_status(system: System) -> None:
    assert "hooks.example.org" in WEBHOOKS_ON_LOOPBACK["webhook_allowed_hosts"]  # the webhook example's host
    spec = system.app.openapi()
    async with served(system.app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        walk = Walk(client, spec)
        roses = (await walk.send("POST", "/v1/declarations", TRADER_KEY)).json()["id"]
        await walk.send("GET", "/v1/declarations", TRADER_KEY)
        await walk.send("GET", "/v1/declarations/{declaration_id}", TRADER_KEY, declaration_id=roses)
        await walk.send(
            "GET", "/v1/declarations/{declaration_id}/versions/{version}", TRADER_KEY, declaration_id=roses, version="1"
        )
        await walk.send("POST", "/v1/declarations/{declaration_id}/payments", TRADER_KEY, declaration_id=roses)
        await walk.send("POST", "/v1/declarations/{declaration_id}/amendments", TRADER_KEY, declaration_id=roses)

        async def phyto_holds_version_2() -> bool:
            body = (await client.get(f"/v1/declarations/{roses}", headers=TRADER_KEY)).json()
            return any(d["agency"] == "phyto" and d["declaration_version"] == 2 for d in body["decisions"])

        await eventually(phyto_holds_version_2, within=30, what="plant health to hold the amended roses")
        await walk.send(
            "POST", "/v1/declarations/{declaration_id}/inspections", PHYTO_OFFICER_KEY, declaration_id=roses
        )
        await wait_for_status(system, roses, "released")
        await walk.send("POST", "/v1/declarations/{declaration_id}/corrections", TRADER_KEY, declaration_id=roses)
        await walk.send("POST", "/v1/declarations/{declaration_id}/arrival", CARRIER_KEY, declaration_id=roses)
        await walk.send("GET", "/v1/declarations/{declaration_id}/arrival", CARRIER_KEY, declaration_id=roses)

        xml = (await walk.send("POST", "/v1/declarations", TRADER_KEY, media_type=XML)).json()["id"]
        amend = "/v1/declarations/{declaration_id}/amendments"
        await walk.send("POST", amend, TRADER_KEY, media_type=XML, declaration_id=xml)
        await walk.send("POST", "/v1/declarations/{declaration_id}/cancellation", TRADER_KEY, declaration_id=xml)

        await walk.send("POST", "/v1/certificates", NPPO_KEY)
        certificate = (await walk.send("POST", "/v1/certificates", NPPO_KEY, media_type=XML)).json()["id"]
        await walk.send("GET", "/v1/certificates/{certificate_id}", NPPO_KEY, certificate_id=certificate)
        await walk.send("GET", "/v1/certificates/{certificate_id}/document", NPPO_KEY, certificate_id=certificate)

        await walk.send("GET", "/v1/notifications", TRADER_KEY)
        await walk.send("GET", "/v1/operations/overview", OPERATOR_KEY)
        await walk.send("GET", "/v1/release-study", OPERATOR_KEY)
        async with client.stream("GET", "/v1/notifications/stream", headers=TRADER_KEY) as stream:
            assert stream.status_code == 200
            walk.sent.add(("GET", "/v1/notifications/stream"))
        webhook = (await walk.send("POST", "/v1/webhooks", TRADER_KEY)).json()["id"]
        await walk.send("GET", "/v1/webhooks", TRADER_KEY)
        await walk.send("GET", "/v1/webhooks/{webhook_id}", TRADER_KEY, webhook_id=webhook)
        await walk.send("GET", "/v1/webhooks/{webhook_id}/deliveries", TRADER_KEY, webhook_id=webhook)
        await walk.send("POST", "/v1/webhooks/{webhook_id}/enable", TRADER_KEY, webhook_id=webhook)
        await walk.send("DELETE", "/v1/webhooks/{webhook_id}", TRADER_KEY, webhook_id=webhook)
        for path in ("/health", "/ready", "/metrics"):
            await walk.send("GET", path)

    assert {(method, path) for method, path, _ in operations(spec)} - walk.sent == set()
    assert {(method, path, media) for method, path, media in walk.bodies} == {
        (method, path, media)
        for method, path, operation in operations(spec)
        for media in operation.get("requestBody", {}).get("content", {})
    }
