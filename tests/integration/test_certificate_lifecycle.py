"""A certificate's life after it was issued, over the real broker: the exporting NPPO withdraws it (status 40) or
replaces it by a new certificate naming it (note ADRPN). Plant health decides again on every declaration relying on
it; a consignment it had released raises an alert instead, which the gateway keeps on the consignment and tells
its traders about."""

import asyncio
from typing import Any

import pytest

from tests.support import payloads
from tests.support.in_process import NPPO_KEY, TRADER_KEY, System
from tests.support.independent_kafka import Record, read_until
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def lodged(system: System, body: dict[str, Any]) -> str:
    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def delivered(system: System, body: dict[str, Any], expected: int = 201) -> dict[str, Any]:
    response = await system.client.post("/v1/certificates", json=body, headers=NPPO_KEY)
    assert response.status_code == expected, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def declaration(system: System, declaration_id: str) -> dict[str, Any]:
    response = await system.client.get(f"/v1/declarations/{declaration_id}", headers=TRADER_KEY)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def phyto_latest(system: System, declaration_id: str, outcome: str) -> dict[str, Any]:
    """Phyto's latest decision on the declaration, once the gateway has one with `outcome`."""

    async def arrived() -> dict[str, Any] | None:
        decisions = (await declaration(system, declaration_id))["decisions"]
        latest = max((d for d in decisions if d["agency"] == "phyto"), key=lambda d: d["sequence"], default=None)
        return latest if latest is not None and latest["outcome"] == outcome else None

    return await eventually(arrived, within=30, what=f"phyto's latest decision to be {outcome}")


async def released(system: System, declaration_id: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        body = await declaration(system, declaration_id)
        return body if body["clearance"]["state"] == "released" else None

    return await eventually(reached, within=30, what=f"{declaration_id} released")


async def alerts_on_kafka(system: System, declaration_id: str, count: int) -> list[Record]:
    def enough(records: list[Record]) -> bool:
        return len([r for r in records if r.key == declaration_id]) >= count

    records = await asyncio.to_thread(read_until, system.bootstrap, system.topic("alerts"), enough)
    return [r for r in records if r.key == declaration_id]


async def test_a_withdrawal_after_release_flags_the_consignment_and_tells_its_traders(system: System) -> None:
    number = payloads.certificate_number()
    declaration_id = await lodged(system, payloads.declaration(number))
    original = payloads.certificate(number)
    first = await delivered(system, original)
    await released(system, declaration_id)

    withdrawal = original | {"status": "40"}
    answer = await delivered(system, withdrawal, expected=200)
    assert (answer["id"], answer["certificate"]["status"]) == (first["id"], "40")

    [alert] = await alerts_on_kafka(system, declaration_id, 1)
    assert alert.payload["code"] == "CERTIFICATE_WITHDRAWN_AFTER_RELEASE"
    assert alert.payload["certificate_number"] == number
    assert [r["code"] for r in alert.payload["reasons"]] == ["CERTIFICATE_WITHDRAWN"]

    async def flagged() -> dict[str, Any] | None:
        body = await declaration(system, declaration_id)
        # The view reads alerts and timeline one after the other: wait until both show the alert.
        return body if body["alerts"] and "alert" in [entry["kind"] for entry in body["timeline"]] else None

    body = await eventually(flagged, within=30, what="the gateway to flag the consignment")
    assert [(a["agency"], a["code"], a["alert_id"]) for a in body["alerts"]] == [
        ("phyto", "CERTIFICATE_WITHDRAWN_AFTER_RELEASE", alert.payload["alert_id"])
    ]
    assert body["clearance"]["state"] == "released"  # a release is final: the alert is how the window says it
    # Phyto's own answer changed too (held, withdrawn), for the record.
    held = await phyto_latest(system, declaration_id, "held")
    assert [r["code"] for r in held["reasons"]] == ["CERTIFICATE_WITHDRAWN"]

    feed = await system.client.get("/v1/notifications", params={"limit": 500}, headers=TRADER_KEY)
    notices = [n for n in feed.json()["items"] if n["type"] == "consignment.alert"]
    assert [n["data"]["declaration_id"] for n in notices] == [declaration_id]

    # The withdrawal again, and the original delivered late: nothing changes, nothing is raised again.
    assert (await delivered(system, withdrawal, expected=200))["certificate"]["status"] == "40"
    assert (await delivered(system, original, expected=200))["certificate"]["status"] == "40"
    assert len((await declaration(system, declaration_id))["alerts"]) == 1


async def test_a_replacement_decides_the_declarations_citing_the_replaced_certificate(system: System) -> None:
    old = payloads.certificate_number()
    await delivered(system, payloads.certificate(old) | {"status": "40"})
    declaration_id = await lodged(system, payloads.declaration(old))
    withdrawn = await phyto_latest(system, declaration_id, "held")
    assert [r["code"] for r in withdrawn["reasons"]] == ["CERTIFICATE_WITHDRAWN"]

    new = payloads.certificate_number()
    replacement = payloads.certificate(
        new, replaced_certificate_number=old, replacement_reason="the consignee's address was wrong"
    )
    await delivered(system, replacement)
    await phyto_latest(system, declaration_id, "released")
    body = await released(system, declaration_id)
    assert body["alerts"] == []


async def test_a_replacement_that_no_longer_matches_a_released_consignment_raises_an_alert(system: System) -> None:
    old = payloads.certificate_number()
    declaration_id = await lodged(system, payloads.declaration(old))
    certificate = payloads.certificate(old)
    await delivered(system, certificate)
    await released(system, declaration_id)

    other_origin = [line | {"origin_countries": ["KE"]} for line in certificate["line_items"]]
    replacement = payloads.certificate(
        payloads.certificate_number(), replaced_certificate_number=old, line_items=other_origin
    )
    await delivered(system, replacement)

    [alert] = await alerts_on_kafka(system, declaration_id, 1)
    assert alert.payload["code"] == "CERTIFICATE_REPLACED_AFTER_RELEASE"
    assert alert.payload["certificate_number"] == replacement["number"]
    assert "CERTIFICATE_MISMATCH" in [r["code"] for r in alert.payload["reasons"]]
    held = await phyto_latest(system, declaration_id, "held")
    assert any("origin" in r["text"] for r in held["reasons"])
