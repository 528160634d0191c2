"""The operator overview and the Time Release Study over HTTP, after real traffic through the three services."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import payloads
from tests.support.in_process import CUSTOMS_OFFICER_KEY, OPERATOR_KEY, TRADER_KEY, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def lodged(system: System, body: dict[str, Any]) -> str:
    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def settled(system: System, declaration_id: str, state: str) -> None:
    async def reached() -> bool:
        response = await system.client.get(f"/v1/declarations/{declaration_id}", headers=TRADER_KEY)
        return bool(response.json()["clearance"]["state"] == state)

    await eventually(reached, within=30, what=f"{declaration_id} to be {state}")


async def two_consignments(system: System) -> tuple[str, str]:
    """A laptop declaration customs releases, and roses plant health holds for their certificate."""
    laptops = await lodged(system, payloads.customs_only("84713000", "CN"))
    roses = await lodged(system, payloads.declaration(payloads.certificate_number()))
    await settled(system, laptops, "released")
    await settled(system, roses, "partially_held")
    return laptops, roses


async def test_the_release_study_of_a_period_in_json_and_csv(system: System) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    await two_consignments(system)
    query = {"since": since.isoformat()}

    response = await system.client.get("/v1/release-study", params=query, headers=OPERATOR_KEY)
    assert response.status_code == 200, response.text
    study = response.json()
    assert study["consignments"] == 2
    assert study["percentile_method"].startswith("nearest-rank")
    rows = {(r["dimension"], r["group"], r["interval"], r["agency"]): r for r in study["rows"]}
    released = rows[("all", "all", "lodgement_to_release", None)]
    assert (released["count"], released["waiting"]) == (1, 1)
    assert 0 < released["p50_seconds"] == released["p99_seconds"] < 30
    # Customs decided both; plant health decided the roses (held, waiting for the certificate): a first decision.
    assert rows[("agency", "customs", "lodgement_to_decision", "customs")]["count"] == 2
    assert rows[("agency", "phyto", "lodgement_to_decision", "phyto")]["count"] == 1
    assert rows[("agency", "phyto", "lodgement_to_release", None)]["waiting"] == 1
    assert rows[("lane", "green", "lodgement_to_release", None)]["count"] == 1
    assert {group for dimension, group, *_ in rows if dimension == "hs_chapter"} == {"84", "06"}

    csv_please = CUSTOMS_OFFICER_KEY | {"accept": "text/csv"}
    as_csv = await system.client.get("/v1/release-study", params=query, headers=csv_please)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(table) == len(study["rows"])
    first = table[0]
    assert set(first) >= {"since", "until", "dimension", "group", "interval", "p50_seconds", "waiting"}
    assert (first["dimension"], first["group"]) == ("all", "all")

    by_lane = await system.client.get(
        "/v1/release-study", params=query | {"by": "lane", "format": "csv"}, headers=OPERATOR_KEY
    )
    assert {row["dimension"] for row in csv.DictReader(io.StringIO(by_lane.text))} == {"lane"}


async def test_the_release_study_refuses_a_bad_period_naming_the_parameter_and_keeps_traders_out(
    system: System,
) -> None:
    now = datetime.now(UTC)
    backwards = {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}
    too_long = {"since": (now - timedelta(days=400)).isoformat()}
    for params, says in ((backwards, "must be before until"), (too_long, "must not exceed 366 days")):
        response = await system.client.get("/v1/release-study", params=params, headers=OPERATOR_KEY)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        [problem] = response.json()["errors"]
        assert problem["path"] == "query.since"
        assert says in problem["message"]
    assert (await system.client.get("/v1/release-study", headers=TRADER_KEY)).status_code == 403
    assert (await system.client.get("/v1/release-study")).status_code == 401


async def test_the_overview_shows_health_throughput_lag_dead_letters_mix_and_who_waits(system: System) -> None:
    laptops, roses = await two_consignments(system)
    prefix = system.gateway.settings.topic_prefix

    response = await system.client.get("/v1/operations/overview", headers=OPERATOR_KEY)
    assert response.status_code == 200, response.text
    overview = response.json()
    services = {service["name"]: service for service in overview["services"]}
    assert services["gateway"]["ready"] is True
    # The other two run in this process without HTTP servers: the dashboard says so instead of failing.
    assert services["customs"]["reachable"] is False
    assert "ConnectError" in services["customs"]["error"]
    assert overview["broker"]["connected"] is True
    assert overview["broker"]["offsets_read"] is True
    assert overview["throughput"]["last_minute"]["lodged"] >= 2
    assert overview["throughput"]["last_15_minutes"]["released"] >= 1
    groups = {(row["group"], row["topic"]) for row in overview["lag"]}
    assert (f"{prefix}customs", f"{prefix}declarations") in groups
    dead = {row["topic"]: row["records"] for row in overview["dead_letters"]}
    assert dead[f"{prefix}declarations.dlq"] == 0
    mix = {(row["agency"], row["outcome"], row["lane"]) for row in overview["decision_mix"]["rows"]}
    assert {("customs", "released", "green"), ("phyto", "held", "none")} <= mix
    waiting = {entry["declaration_id"]: entry for entry in overview["waiting_longest"]}
    assert laptops not in waiting
    assert waiting[roses]["waiting_for"] == ["phyto: held (CERTIFICATE_AWAITED)"]
    assert waiting[roses]["state"] == "partially_held"

    assert (await system.client.get("/v1/operations/overview", headers=CUSTOMS_OFFICER_KEY)).status_code == 403


async def test_the_dashboard_page_is_served_without_data_and_with_a_strict_policy(system: System) -> None:
    page = await system.client.get("/dashboard")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/dashboard/app.js"' in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing loaded from another origin
    script = await system.client.get("/dashboard/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text
    assert (await system.client.get("/dashboard/secrets.txt")).status_code == 422
