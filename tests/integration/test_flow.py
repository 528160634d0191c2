"""The whole flow inside one process: gateway, customs and phyto on the real broker and SQLite."""

from typing import Any

import pytest

from tests.support import payloads
from tests.support.in_process import NPPO_KEY, OTHER_TRADER_KEY, TRADER_KEY, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def clearance_of(system: System, declaration_id: str) -> dict[str, Any]:
    response = await system.client.get(f"/v1/declarations/{declaration_id}", headers=TRADER_KEY)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_for_status(system: System, declaration_id: str, status: str, *, field: str = "status") -> dict[str, Any]:
    """The declaration once its clearance `status` (or `state`, with field="state") reads `status`."""

    async def probe() -> dict[str, Any] | None:
        body = await clearance_of(system, declaration_id)
        return body if body["clearance"][field] == status else None

    return await eventually(probe, within=30, what=f"declaration {declaration_id} to be {status}")


async def submit_declaration(system: System, body: dict[str, Any]) -> str:
    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_declaration_first_is_held_until_its_certificate_arrives_then_released(system: System) -> None:
    number = payloads.certificate_number()
    declaration_id = await submit_declaration(system, payloads.declaration(number))

    # Customs releases at once; plant health holds the goods until the certificate comes.
    held = await wait_for_status(system, declaration_id, "partially_held", field="state")
    assert held["clearance"]["status"] == "held"
    assert [r["code"] for r in held["clearance"]["reasons"]] == ["CERTIFICATE_AWAITED"]
    assert number in held["clearance"]["reasons"][0]["text"]

    response = await system.client.post("/v1/certificates", json=payloads.certificate(number), headers=NPPO_KEY)
    assert response.status_code == 201, response.text

    released = await wait_for_status(system, declaration_id, "released")
    latest = {s["agency"]: (s["outcome"], s["sequence"]) for s in released["clearance"]["agencies"]}
    assert latest == {"customs": ("released", 1), "phyto": ("released", 2)}
    assert released["clearance"]["state"] == "released"
    states = [entry["detail"]["state"] for entry in released["timeline"] if entry["kind"] == "clearance"]
    assert states[-2:] == ["partially_held", "released"]
    kinds = [entry["kind"] for entry in released["timeline"]]
    assert kinds[0] == "submitted"
    assert kinds[-1] == "clearance"


async def test_certificate_first_then_declaration_is_released_at_once(system: System) -> None:
    number = payloads.certificate_number()
    response = await system.client.post("/v1/certificates", json=payloads.certificate(number), headers=NPPO_KEY)
    assert response.status_code == 201

    async def certificate_stored() -> bool:
        from sqlalchemy import select

        from services.phyto.adapters.orm import certificates

        async with system.phyto.runtime.engine.connect() as connection:
            found = await connection.scalar(select(certificates.c.id).where(certificates.c.number == number))
        return found is not None

    await eventually(certificate_stored, within=30, what="phyto to store the certificate")
    declaration_id = await submit_declaration(system, payloads.declaration(number))

    released = await wait_for_status(system, declaration_id, "released")
    phyto = [d for d in released["decisions"] if d["agency"] == "phyto"]
    assert [(d["sequence"], d["outcome"]) for d in phyto] == [(1, "released")]


async def test_certificate_for_another_origin_is_listed_as_a_mismatch(system: System) -> None:
    number = payloads.certificate_number()
    certificate = payloads.certificate(number)
    certificate["line_items"][0]["origin_countries"] = ["KE"]
    declaration_id = await submit_declaration(system, payloads.declaration(number))
    assert (await system.client.post("/v1/certificates", json=certificate, headers=NPPO_KEY)).status_code == 201

    async def mismatched() -> dict[str, Any] | None:
        body = await clearance_of(system, declaration_id)
        codes = [r["code"] for r in body["clearance"]["reasons"]]
        return body if codes == ["CERTIFICATE_MISMATCH"] else None

    body = await eventually(mismatched, within=30, what="a mismatch hold")
    phyto = [d for d in body["decisions"] if d["agency"] == "phyto"][-1]
    assert phyto["details"]["mismatches"] == [
        {"goods_item": 1, "certificate": number, "field": "origin", "declared": "NL", "certified": "KE"}
    ]


async def test_goods_that_are_not_plants_need_customs_only(system: System) -> None:
    body = payloads.declaration(None)
    body["goods_items"][0] |= {"commodity_code": "84713000", "description": "Laptops"}
    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert response.json()["required_agencies"] == ["customs"]

    released = await wait_for_status(system, response.json()["id"], "released")
    assert [d["agency"] for d in released["decisions"]] == ["customs"]


async def test_red_lane_rule_holds_the_consignment_with_its_reason(system: System) -> None:
    number = payloads.certificate_number()
    body = payloads.declaration(number, export_country="TH")
    body["goods_items"][0] |= {"commodity_code": "06029050", "origin_country": "TH", "description": "Orchids"}
    declaration_id = await submit_declaration(system, body)

    async def customs_answered() -> dict[str, Any] | None:
        current = await clearance_of(system, declaration_id)
        return next((d for d in current["decisions"] if d["agency"] == "customs"), None)

    customs = await eventually(customs_answered, within=30, what="the customs decision")
    assert customs["outcome"] == "held"
    assert customs["details"]["lane"] == "red"
    assert customs["reasons"][0]["code"] == "LANE_RED"


async def test_another_trader_cannot_see_the_declaration(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.declaration(payloads.certificate_number()))
    response = await system.client.get(f"/v1/declarations/{declaration_id}", headers=OTHER_TRADER_KEY)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
