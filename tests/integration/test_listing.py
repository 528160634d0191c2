"""A trader lists its declarations, newest first, a page at a time, filtered; it never sees another's."""

from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.domain.callers import Role
from tests.support import payloads
from tests.support.in_process import OTHER_TRADER_KEY, TRADER_KEY, System, seeded_key
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def lodge(system: System, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await system.client.post("/v1/declarations", json=payloads.declaration(None), headers=TRADER_KEY)
        ids.append(response.json()["id"])
    return ids


async def test_pages_follow_the_cursor_newest_first_without_gaps_or_repeats(system: System) -> None:
    lodged = await lodge(system, 5)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await system.client.get("/v1/declarations", params=params, headers=TRADER_KEY)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(lodged))
    assert pages == 3


async def test_filters_by_lrn_status_and_time(system: System) -> None:
    body = payloads.declaration(payloads.certificate_number())  # cites a certificate never sent: held
    lodged = (await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)).json()

    async def held() -> list[dict[str, object]]:
        page = await system.client.get("/v1/declarations", params={"status": "held"}, headers=TRADER_KEY)
        return [item for item in page.json()["items"] if item["id"] == lodged["id"]]

    await eventually(held, within=30, what="the declaration to be listed as held")
    by_lrn = await system.client.get("/v1/declarations", params={"lrn": body["lrn"]}, headers=TRADER_KEY)
    assert [item["id"] for item in by_lrn.json()["items"]] == [lodged["id"]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = await system.client.get("/v1/declarations", params={"submitted_from": future}, headers=TRADER_KEY)
    assert later.json() == {"items": [], "next_cursor": None}


async def test_filters_by_clearance_state_and_by_agency(system: System) -> None:
    roses = (
        await system.client.post(
            "/v1/declarations", json=payloads.declaration(payloads.certificate_number()), headers=TRADER_KEY
        )
    ).json()
    laptops = (
        await system.client.post("/v1/declarations", json=payloads.customs_only("84713000", "CN"), headers=TRADER_KEY)
    ).json()

    async def listed(**params: str) -> list[str] | None:
        page = await system.client.get("/v1/declarations", params=params, headers=TRADER_KEY)
        assert page.status_code == 200, page.text
        ids = [item["id"] for item in page.json()["items"] if item["id"] in (roses["id"], laptops["id"])]
        return ids or None

    # Customs releases the roses, plant health holds them for their certificate: partially held.
    assert await eventually(lambda: listed(state="partially_held"), within=30, what="roses partially held") == [
        roses["id"]
    ]
    assert await eventually(lambda: listed(state="released"), within=30, what="laptops released") == [laptops["id"]]
    assert await listed(agency="phyto") == [roses["id"]]
    assert await listed(agency="customs") == [laptops["id"], roses["id"]]
    assert await listed(agency="wildlife") is None
    bad = await system.client.get("/v1/declarations", params={"state": "held"}, headers=TRADER_KEY)
    assert (bad.status_code, bad.json()["errors"][0]["path"]) == (422, "query.state")


async def test_another_trader_lists_none_of_them(system: System) -> None:
    await lodge(system, 2)
    page = await system.client.get("/v1/declarations", headers=OTHER_TRADER_KEY)
    assert page.status_code == 200
    assert page.json()["items"] == []


@pytest.mark.parametrize("limit", [0, 201])
async def test_a_page_size_out_of_bounds_is_refused(system: System, limit: int) -> None:
    response = await system.client.get("/v1/declarations", params={"limit": limit}, headers=TRADER_KEY)
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "query.limit"


async def test_a_carrier_key_does_not_list_declarations(system: System) -> None:
    response = await system.client.get(
        "/v1/declarations", headers=await seeded_key(system, Role.CARRIER, "GBFXT-TERMINAL")
    )
    assert response.status_code == 403
