"""Amendments and cancellations before release, corrections after, over the real broker."""

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.contract.cloudevents import Envelope
from services.contract.events import AgencyDecisionMade, Outcome
from services.gateway.domain.callers import Caller, Role
from services.gateway.service_layer import amendments, decisions
from tests.integration.test_customs_controls import customs_decision, pay
from tests.integration.test_flow import clearance_of, submit_declaration, wait_for_status
from tests.support import payloads
from tests.support.in_process import NPPO_KEY, OTHER_TRADER_KEY, TRADER_KEY, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def amend(system: System, declaration_id: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await system.client.post(
        f"/v1/declarations/{declaration_id}/amendments",
        json=body | {"function_code": "4"},
        headers=TRADER_KEY | headers,
    )


async def cancel(system: System, declaration_id: str, headers: dict[str, str] = TRADER_KEY) -> httpx.Response:
    body = {"reason": "the goods were not shipped"}
    return await system.client.post(f"/v1/declarations/{declaration_id}/cancellation", json=body, headers=headers)


async def correct(
    system: System, declaration_id: str, body: dict[str, Any], function_code: str = "4"
) -> httpx.Response:
    correction = {"reason": "the invoice was wrong", "declaration": body | {"function_code": function_code}}
    return await system.client.post(
        f"/v1/declarations/{declaration_id}/corrections", json=correction, headers=TRADER_KEY
    )


async def decision_on_version(system: System, declaration_id: str, agency: str, version: int) -> dict[str, Any]:
    async def decided() -> dict[str, Any] | None:
        body = await clearance_of(system, declaration_id)
        found = [d for d in body["decisions"] if d["agency"] == agency and d["declaration_version"] == version]
        return found[-1] if found else None

    return await eventually(decided, within=30, what=f"{agency} to decide on version {version} of {declaration_id}")


async def test_an_amendment_is_decided_afresh_by_every_agency(system: System) -> None:
    right = payloads.certificate_number()
    delivered = await system.client.post("/v1/certificates", json=payloads.certificate(right), headers=NPPO_KEY)
    assert delivered.status_code == 201, delivered.text
    first = payloads.declaration(payloads.certificate_number())  # cites a certificate that never comes
    declaration_id = await submit_declaration(system, first)
    held = await wait_for_status(system, declaration_id, "held")
    assert [r["code"] for r in held["clearance"]["reasons"]] == ["CERTIFICATE_AWAITED"]

    response = await amend(system, declaration_id, payloads.declaration(right, lrn=first["lrn"]))
    assert response.status_code == 201, response.text
    amended = response.json()
    assert amended["version"] == 2
    assert amended["clearance"]["status"] == "submitted"  # decisions on version 1 no longer count
    assert amended["versions"][1]["changed"] == ["goods_items.0.documents.0.id"]
    assert response.headers["location"] == f"/v1/declarations/{declaration_id}/versions/2"

    released = await wait_for_status(system, declaration_id, "released")
    phyto = await decision_on_version(system, declaration_id, "phyto", 2)
    customs = await decision_on_version(system, declaration_id, "customs", 2)
    assert (phyto["outcome"], phyto["sequence"]) == ("released", 2)
    assert (customs["outcome"], customs["sequence"]) == ("released", 2)
    kinds = [entry["kind"] for entry in released["timeline"]]
    assert kinds.index("amended") > kinds.index("submitted")
    original = await system.client.get(f"/v1/declarations/{declaration_id}/versions/1", headers=TRADER_KEY)
    assert (
        original.json()["declaration"]["goods_items"][0]["documents"][0]["id"]
        == first["goods_items"][0]["documents"][0]["id"]
    )

    again = await amend(system, declaration_id, payloads.declaration(right, lrn=first["lrn"]))
    assert again.status_code == 409  # released: only a post-clearance correction now
    assert "post-clearance correction" in again.json()["detail"]


async def test_an_amendment_that_removes_the_plants_drops_plant_health(system: System) -> None:
    roses = payloads.declaration(payloads.certificate_number())
    declaration_id = await submit_declaration(system, roses)
    await wait_for_status(system, declaration_id, "held")

    laptops = payloads.customs_only("84713000", "CN") | {"lrn": roses["lrn"]}
    response = await amend(system, declaration_id, laptops)
    assert response.status_code == 201, response.text
    assert response.json()["required_agencies"] == ["customs"]
    released = await wait_for_status(system, declaration_id, "released")
    assert [a["agency"] for a in released["clearance"]["agencies"]] == ["customs"]


async def test_an_amendment_must_keep_the_lrn_and_say_it_changes_the_declaration(system: System) -> None:
    body = payloads.customs_only("61091000", "CN", net_mass_kg="500")
    declaration_id = await submit_declaration(system, body)
    await customs_decision(system, declaration_id, 1)

    other_lrn = await amend(system, declaration_id, body | {"lrn": "LRN-SOMETHING-ELSE"})
    assert other_lrn.status_code == 422
    assert other_lrn.json()["errors"][0]["path"] == "body.lrn"
    original = await system.client.post(
        f"/v1/declarations/{declaration_id}/amendments", json=body, headers=TRADER_KEY
    )  # function code 9: a new declaration, not a change
    assert original.status_code == 422
    assert original.json()["errors"][0]["path"] == "body.function_code"
    unchanged = await amend(system, declaration_id, body)
    assert (unchanged.status_code, unchanged.json()["version"]) == (200, 1)
    lodged_as_change = await system.client.post(
        "/v1/declarations", json=payloads.customs_only("61091000", "CN") | {"function_code": "4"}, headers=TRADER_KEY
    )
    assert lodged_as_change.status_code == 422
    assert "amendments" in lodged_as_change.json()["detail"]
    assert (await amend(system, declaration_id, body, **OTHER_TRADER_KEY)).status_code == 404


async def test_a_cancelled_declaration_takes_no_more_changes_payments_or_inspections(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("84713000", "CN", deferment=False))
    await customs_decision(system, declaration_id, 1)
    assert (await cancel(system, declaration_id, OTHER_TRADER_KEY)).status_code == 404

    response = await cancel(system, declaration_id)
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["clearance"]["status"] == "cancelled"
    assert [r["code"] for r in cancelled["clearance"]["reasons"]] == ["CANCELLED_BY_TRADER"]
    assert (await cancel(system, declaration_id)).json()["timeline"] == cancelled["timeline"]  # changes nothing

    assert (await pay(system, declaration_id, "1467.24", "BANK-LATE")).status_code == 409
    later = await amend(system, declaration_id, payloads.customs_only("84713000", "CN", deferment=True))
    assert later.status_code == 409
    assert "cancelled" in later.json()["detail"]
    listed = await system.client.get("/v1/declarations", params={"status": "cancelled"}, headers=TRADER_KEY)
    assert declaration_id in [item["id"] for item in listed.json()["items"]]


async def test_released_goods_are_not_cancelled_but_corrected_and_customs_assesses_the_difference(
    system: System,
) -> None:
    laptops = payloads.customs_only("84713000", "CN")  # 8400.00 EUR, covered by the declarant's deferment
    declaration_id = await submit_declaration(system, laptops)
    early = await correct(system, declaration_id, laptops)
    assert early.status_code == 409  # not released yet: amend instead
    await wait_for_status(system, declaration_id, "released")
    assert (await cancel(system, declaration_id)).status_code == 409

    dearer = laptops | {"goods_items": [laptops["goods_items"][0] | {"value": {"value": "9400.00", "currency": "EUR"}}]}
    assert (await correct(system, declaration_id, dearer, function_code="9")).status_code == 422
    response = await correct(system, declaration_id, dearer)
    assert response.status_code == 201, response.text
    correction = response.json()
    assert (correction["number"], correction["released_version"]) == (1, 1)
    assert correction["changed"] == ["goods_items.0.value.value"]
    again = await correct(system, declaration_id, dearer)
    assert (again.status_code, again.json()["id"]) == (200, correction["id"])

    async def assessed() -> dict[str, Any] | None:
        body = await clearance_of(system, declaration_id)
        found: dict[str, Any] | None = body["corrections"][0]["assessment"]
        return found

    assessment = await eventually(assessed, within=30, what="customs to assess the correction")
    rate = Decimal("1.1450")

    def vat(euros: str) -> Decimal:  # 0% duty on laptops; VAT 20% of the value in pounds, rounded down
        pounds = (Decimal(euros) / rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return (pounds * Decimal("0.20")).quantize(Decimal("0.01"), ROUND_DOWN)

    assert Decimal(assessment["difference"]) == vat("9400.00") - vat("8400.00") == Decimal("174.68")
    assert assessment["before"]["total"] == "1467.24"
    assert [r["code"] for r in assessment["reasons"]] == ["DUTY_DUE_AFTER_CORRECTION"]
    after = await clearance_of(system, declaration_id)
    assert (after["clearance"]["status"], after["version"]) == ("released", 1)  # the release stands
    assert {"correction_recorded", "correction_assessed"} <= {entry["kind"] for entry in after["timeline"]}
    # What the correction made due can be paid through the declaration.
    assert (await pay(system, declaration_id, "174.68", "BANK-CORRECTION-1")).status_code == 201


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # SQLite: writers never overlap
async def test_a_decision_recorded_while_a_cancellation_commits_leaves_the_declaration_cancelled(
    system: System,
) -> None:
    """The decision's transaction waits for the cancellation's lock on the declaration, then reads it cancelled:
    it must not write the state it would have joined from the row as it was before."""
    body = payloads.declaration(payloads.certificate_number())  # cites a certificate that never comes
    declaration_id = await submit_declaration(system, body)
    await wait_for_status(system, declaration_id, "held")
    transactions, now = system.gateway.runtime.transactions, datetime.now(UTC)
    released = AgencyDecisionMade(
        agency="phyto",
        declaration_id=declaration_id,
        declaration_version=1,
        sequence=1_000,
        outcome=Outcome.RELEASED,
        rules_version="test",
        decided_at=now,
    )

    async def record_the_release() -> None:
        async with transactions.begin() as transaction:
            event = Envelope(data=released, source="test-agency", correlation_id="test-correlation")
            await decisions.record(transaction, event, now=now, source="gateway")

    recording = await cancelled_while(system, declaration_id, body["declarant"]["id"], record_the_release())
    await asyncio.wait_for(recording, timeout=10)

    assert (await clearance_of(system, declaration_id))["clearance"]["status"] == "cancelled"


async def cancelled_while(
    system: System, declaration_id: str, declarant: str, racing: Coroutine[Any, Any, None]
) -> "asyncio.Task[None]":
    """Cancel the declaration in a transaction that commits only once `racing`, started meanwhile, waits for a lock
    in the database (PostgreSQL); the task running `racing`, to be awaited."""
    async with system.gateway.runtime.transactions.begin() as transaction:
        await amendments.cancel(
            transaction,
            declaration_id=declaration_id,
            reason="the goods were not shipped",
            caller=Caller(Role.TRADER, declarant),
            correlation_id="test-correlation",
            now=datetime.now(UTC),
            source="gateway",
        )
        cancelling = await transaction.connection.scalar(text("SELECT pg_backend_pid()"))
        task = asyncio.create_task(racing)
        await eventually(
            lambda: blocked_by(system, cancelling), within=10, what="the race to wait for the cancellation"
        )
    return task


async def blocked_by(system: System, holder: int) -> bool:
    """Whether a session of the gateway's database waits for a lock that the session `holder` (a backend's pid)
    holds."""
    async with system.gateway.runtime.engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))"
        )
        return bool(await connection.scalar(query, {"holder": holder}))
