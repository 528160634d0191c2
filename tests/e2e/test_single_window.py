"""The single window as its users see it: services as processes, real broker, HTTP in, Kafka out."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from deploy.stack import Stack
from services.contract.schema_export import CLOUDEVENT_HEADERS, ROOT
from tests.e2e.api_client import GatewayClient
from tests.support import payloads
from tests.support.independent_kafka import Record, read_until
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def about(declaration_id: str, topic_records: list[Record]) -> list[Record]:
    return [record for record in topic_records if record.key == declaration_id]


def log_lines_with(log: Path, text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if text in line]


async def read(stack: Stack, topic: str, done: Any) -> list[Record]:
    return await asyncio.to_thread(read_until, stack.bootstrap, topic, done, timeout=60)


async def test_declaration_and_certificate_are_released_over_http_and_on_kafka(
    stack: Stack, gateway: GatewayClient
) -> None:
    number = payloads.certificate_number()
    correlation_id = f"e2e-{uuid.uuid4()}"
    declaration_id = await gateway.lodge(payloads.declaration(number), correlation_id=correlation_id)
    await gateway.deliver(payloads.certificate(number))

    released = await gateway.wait_for_status(declaration_id, "released")
    assert {s["agency"]: s["outcome"] for s in released["clearance"]["agencies"]} == {
        "customs": "released",
        "phyto": "released",
    }

    def both_released(records: list[Record]) -> bool:
        outcomes = {(r.payload["agency"], r.payload["outcome"]) for r in about(declaration_id, records)}
        return {("customs", "released"), ("phyto", "released")} <= outcomes

    decisions = about(declaration_id, await read(stack, "decisions", both_released))
    assert both_released(decisions)
    assert {r.headers["ce_correlationid"] for r in decisions} == {correlation_id}
    phyto = [r.payload for r in decisions if r.payload["agency"] == "phyto"]
    assert [d["sequence"] for d in phyto] == list(range(1, len(phyto) + 1))  # 2 when the declaration came first
    assert phyto[-1]["outcome"] == "released"

    for service in ("gateway", "customs", "phyto"):
        tagged = log_lines_with(stack.log_file(service), correlation_id)
        assert tagged, f"no log line of {service} carries correlation id {correlation_id}"
        assert all(entry["correlation_id"] == correlation_id for entry in tagged)


async def test_a_missing_certificate_holds_the_consignment_with_its_reason_on_the_clearance_topic(
    stack: Stack, gateway: GatewayClient
) -> None:
    never_sent = payloads.certificate_number()
    declaration_id = await gateway.lodge(payloads.declaration(never_sent))

    def held(records: list[Record]) -> bool:
        return any(r.payload["status"] == "held" for r in about(declaration_id, records))

    clearance = about(declaration_id, await read(stack, "clearance", held))
    decided = next(r.payload for r in clearance if r.payload["status"] == "held")
    assert [(reason["code"], reason["agency"]) for reason in decided["reasons"]] == [("CERTIFICATE_AWAITED", "phyto")]
    assert never_sent in decided["reasons"][0]["text"]
    assert (await gateway.declaration(declaration_id))["clearance"]["status"] == "held"


async def test_every_event_on_every_topic_matches_its_published_schema(stack: Stack, gateway: GatewayClient) -> None:
    number = payloads.certificate_number()
    declaration_id = await gateway.lodge(payloads.declaration(number))
    await gateway.deliver(payloads.certificate(number))
    await gateway.wait_for_status(declaration_id, "released")
    # Shirts from China wait for a documentary check that an officer records; laptops without a deferment
    # wait for their VAT to be paid.
    shirts = payloads.declaration(None)
    shirts["goods_items"][0] |= {"commodity_code": "61091000", "origin_country": "CN", "net_mass_kg": "500"}
    shirts_id = await gateway.lodge(shirts)
    await gateway.wait_for_status(shirts_id, "held")
    await gateway.inspect(shirts_id, result="release", findings="origin documents in order")
    laptops = payloads.declaration(None, authorisations=[])
    laptops["goods_items"][0] |= {"commodity_code": "84713000", "origin_country": "CN"}
    laptops_id = await gateway.lodge(laptops)
    held = await gateway.wait_for_status(laptops_id, "held")
    [customs] = held["decisions"]
    await gateway.pay(laptops_id, customs["details"]["duties"]["total"], f"BANK-{laptops_id}")
    await gateway.wait_for_status(shirts_id, "released")
    await gateway.wait_for_status(laptops_id, "released")
    arrival = await gateway.arrive(laptops_id, "GBDVR")
    assert (arrival["status"], arrival["release"]["from_arrival_seconds"]) == ("released", 0)
    # After release the laptops' value is corrected: customs assesses the VAT still due.
    corrected = laptops | {
        "goods_items": [laptops["goods_items"][0] | {"value": {"value": "9400.00", "currency": "EUR"}}]
    }
    await gateway.correct(laptops_id, corrected, "the invoice was 9,400 EUR")
    await eventually(
        lambda: _assessed(gateway, laptops_id), within=60, what=f"customs to assess the correction of {laptops_id}"
    )
    # Roses citing the wrong certificate are amended to cite the right one; others are cancelled.
    wrong = payloads.declaration(payloads.certificate_number())
    amended_id = await gateway.lodge(wrong)
    await gateway.wait_for_status(amended_id, "held")
    await gateway.amend(amended_id, payloads.declaration(number, lrn=wrong["lrn"]))
    await gateway.wait_for_status(amended_id, "released")
    cancelled_id = await gateway.lodge(payloads.declaration(payloads.certificate_number()))
    await gateway.wait_for_status(cancelled_id, "held")
    await gateway.cancel(cancelled_id, "the goods were not shipped")
    wanted_on_topic = {  # read each topic until all of these have come
        "declarations": {
            (laptops_id, "PaymentRecorded"),
            (laptops_id, "DeclarationCorrected"),
            (laptops_id, "GoodsArrived"),
            (amended_id, "DeclarationAmended"),
            (cancelled_id, "DeclarationCancelled"),
        },
        "certificates": {(f"NL:{number}", "CertificateReceived")},
        "inspections": {(shirts_id, "InspectionRecorded")},
        "decisions": {(amended_id, "AgencyDecisionMade"), (laptops_id, "CorrectionAssessed")},
        "clearance": {(cancelled_id, "ClearanceDecided")},
    }

    schemas = {}
    for path in (ROOT / "events").glob("*.json"):
        schema = json.loads(path.read_text())
        schemas[schema["$id"]] = Draft202012Validator(schema)
    headers_validator = Draft202012Validator(CLOUDEVENT_HEADERS)
    seen: dict[str, int] = {}
    for topic, pairs in wanted_on_topic.items():
        wanted = {(key, f"org.singlewindow.{event_type}.v1") for key, event_type in pairs}
        records = await read(
            stack, topic, lambda records, wanted=wanted: wanted <= {(r.key, r.headers["ce_type"]) for r in records}
        )
        assert records, f"nothing on {topic}"
        for record in records:
            headers_validator.validate(record.headers)
            validator = schemas[record.headers["ce_dataschema"]]
            errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(record.payload)]
            assert errors == [], f"{record.headers['ce_type']} on {topic} breaks its schema: {errors}"
            seen[record.headers["ce_type"]] = seen.get(record.headers["ce_type"], 0) + 1
    assert set(seen) == {
        "org.singlewindow.DeclarationSubmitted.v1",
        "org.singlewindow.DeclarationAmended.v1",
        "org.singlewindow.DeclarationCancelled.v1",
        "org.singlewindow.DeclarationCorrected.v1",
        "org.singlewindow.GoodsArrived.v1",
        "org.singlewindow.CorrectionAssessed.v1",
        "org.singlewindow.PaymentRecorded.v1",
        "org.singlewindow.CertificateReceived.v1",
        "org.singlewindow.InspectionRecorded.v1",
        "org.singlewindow.AgencyDecisionMade.v1",
        "org.singlewindow.ClearanceDecided.v1",
    }


async def _assessed(gateway: GatewayClient, declaration_id: str) -> dict[str, Any] | None:
    body = await gateway.declaration(declaration_id)
    assessment: dict[str, Any] | None = body["corrections"][0]["assessment"] if body["corrections"] else None
    return assessment
