"""Carriers report the goods presented; the release and its times go back to them."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.errors import Conflict
from services.gateway.service_layer import arrivals
from tests.integration.test_amendments import cancelled_while
from tests.integration.test_flow import clearance_of, submit_declaration, wait_for_status
from tests.support import payloads
from tests.support.in_process import CARRIER_KEY, OTHER_TRADER_KEY, TRADER_KEY, System

pytestmark = pytest.mark.integration
FERRY = {"location": "GBDVR", "transport_reference": "P&O Pioneer 0815"}


async def test_goods_released_before_they_arrive_are_free_to_go_on_arrival(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("84713000", "CN"))
    await wait_for_status(system, declaration_id, "released")

    response = await system.client.post(f"/v1/declarations/{declaration_id}/arrival", json=FERRY, headers=CARRIER_KEY)
    assert response.status_code == 201, response.text
    arrival = response.json()
    assert (arrival["status"], arrival["reported_by"]) == ("released", "GBDVR-FERRYPORT")
    assert arrival["release"]["from_arrival_seconds"] == 0  # pre-arrival processing: ready when they came
    assert arrival["release"]["from_lodgement_seconds"] > 0
    again = await system.client.post(f"/v1/declarations/{declaration_id}/arrival", json=FERRY, headers=CARRIER_KEY)
    assert (again.status_code, again.json()["arrived_at"]) == (200, arrival["arrived_at"])
    elsewhere = FERRY | {"location": "GBFXT"}
    moved = await system.client.post(f"/v1/declarations/{declaration_id}/arrival", json=elsewhere, headers=CARRIER_KEY)
    assert moved.status_code == 409

    declaration = await clearance_of(system, declaration_id)
    assert declaration["release"]["arrived_at"] == arrival["arrived_at"]
    assert "arrived" in [entry["kind"] for entry in declaration["timeline"]]


async def test_goods_that_arrive_while_held_have_a_release_time_from_arrival(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.declaration(payloads.certificate_number()))
    await wait_for_status(system, declaration_id, "held")
    arrived_at = datetime.now(UTC) - timedelta(minutes=10)
    body = FERRY | {"arrived_at": arrived_at.isoformat()}
    response = await system.client.post(f"/v1/declarations/{declaration_id}/arrival", json=body, headers=CARRIER_KEY)
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["release"]["released_at"]) == ("held", None)

    cancelled = await system.client.post(
        f"/v1/declarations/{declaration_id}/cancellation", json={"reason": "wrong goods"}, headers=TRADER_KEY
    )
    assert cancelled.status_code == 200
    followed = await system.client.get(f"/v1/declarations/{declaration_id}/arrival", headers=CARRIER_KEY)
    assert followed.json()["status"] == "cancelled"


async def test_only_carriers_report_and_they_see_no_commercial_detail(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("84713000", "CN"))
    path = f"/v1/declarations/{declaration_id}/arrival"
    assert (await system.client.post(path, json=FERRY, headers=TRADER_KEY)).status_code == 403
    future = FERRY | {"arrived_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    early = await system.client.post(path, json=future, headers=CARRIER_KEY)
    assert (early.status_code, early.json()["errors"][0]["path"]) == (422, "body.arrived_at")
    unknown = await system.client.post(
        "/v1/declarations/01JD0000000000000000000000/arrival", json=FERRY, headers=CARRIER_KEY
    )
    assert unknown.status_code == 404
    assert (await system.client.post(path, json=FERRY, headers=CARRIER_KEY)).status_code == 201
    # A carrier reads the arrival it reported, never the declaration (its role does not read declarations).
    assert (await system.client.get(f"/v1/declarations/{declaration_id}", headers=CARRIER_KEY)).status_code == 403
    assert (await system.client.get(path, headers=TRADER_KEY)).status_code == 200
    assert (await system.client.get(path, headers=OTHER_TRADER_KEY)).status_code == 404


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # SQLite: writers never overlap
async def test_goods_reported_while_their_declaration_is_being_cancelled_are_refused(system: System) -> None:
    body = payloads.declaration(payloads.certificate_number())  # cites a certificate that never comes
    declaration_id = await submit_declaration(system, body)
    await wait_for_status(system, declaration_id, "held")
    transactions, now = system.gateway.runtime.transactions, datetime.now(UTC)

    async def report() -> None:
        async with transactions.begin() as transaction:
            await arrivals.report(
                transaction,
                declaration_id=declaration_id,
                caller=Caller(Role.CARRIER, "GBDVR-FERRYPORT"),
                location=FERRY["location"],
                transport_reference=FERRY["transport_reference"],
                arrived_at=None,
                correlation_id="test-correlation",
                now=now,
                source="gateway",
            )

    reporting = await cancelled_while(system, declaration_id, body["declarant"]["id"], report())
    with pytest.raises(Conflict, match="cancelled"):
        await asyncio.wait_for(reporting, timeout=10)

    followed = await system.client.get(f"/v1/declarations/{declaration_id}/arrival", headers=CARRIER_KEY)
    assert followed.status_code == 404
