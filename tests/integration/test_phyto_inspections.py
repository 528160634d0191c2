"""Plant-health officers' results over the real broker: pests found, a treatment ordered and the treated goods
released, goods destroyed; bad combinations and other agencies' officers refused at the API."""

from typing import Any

import pytest

from tests.integration.test_customs_controls import customs_decision, inspect, roses_certified_as_grown_elsewhere
from tests.integration.test_flow import clearance_of, submit_declaration, wait_for_status
from tests.support import payloads
from tests.support.in_process import CUSTOMS_OFFICER_KEY, PHYTO_OFFICER_KEY, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

FALSE_CODLING_MOTH = "Thaumatotibia leucotreta"
COLD_TREATMENT = "Cold treatment: 20 days at or below -0.5 °C, under official supervision"


async def phyto_decides(system: System, declaration_id: str, code: str) -> dict[str, Any]:
    """Plant health's latest decision once its first reason is `code` (certificate and declaration race, so the
    sequence of a given decision is not known beforehand)."""

    async def decided() -> dict[str, Any] | None:
        body = await clearance_of(system, declaration_id)
        phyto = [d for d in body["decisions"] if d["agency"] == "phyto"]
        return phyto[-1] if phyto and phyto[-1]["reasons"][0]["code"] == code else None

    return await eventually(decided, within=30, what=f"plant health to decide {code} on {declaration_id}")


async def test_treatment_ordered_holds_the_goods_until_the_officer_releases_them_treated(system: System) -> None:
    declaration_id, _ = await roses_certified_as_grown_elsewhere(system)
    assert (await customs_decision(system, declaration_id, 1))["outcome"] == "released"
    mismatch = await phyto_decides(system, declaration_id, "CERTIFICATE_MISMATCH")

    ordered = await inspect(
        system,
        declaration_id,
        PHYTO_OFFICER_KEY,
        result="seize",
        findings="live larvae in 3 of 40 cartons",
        pests_found=[FALSE_CODLING_MOTH],
        action="treatment_ordered",
        treatment=COLD_TREATMENT,
    )
    assert ordered.status_code == 201, ordered.text
    fields = ("agency", "result", "findings", "pests_found", "action", "treatment")
    assert {name: ordered.json()[name] for name in fields} == {
        "agency": "phyto",
        "result": "seize",
        "findings": "live larvae in 3 of 40 cartons",
        "pests_found": [FALSE_CODLING_MOTH],
        "action": "treatment_ordered",
        "treatment": COLD_TREATMENT,
    }
    treating = await phyto_decides(system, declaration_id, "TREATMENT_ORDERED")
    assert (treating["outcome"], treating["sequence"]) == ("held", mismatch["sequence"] + 1)
    assert [r["code"] for r in treating["reasons"]] == ["TREATMENT_ORDERED", "PEST_FOUND"]
    assert COLD_TREATMENT in treating["reasons"][0]["text"]
    assert treating["reasons"][1]["text"].startswith(FALSE_CODLING_MOTH)
    waiting = await clearance_of(system, declaration_id)
    assert waiting["clearance"]["status"] == "held"
    assert [r["code"] for r in waiting["clearance"]["reasons"]] == ["TREATMENT_ORDERED", "PEST_FOUND"]
    recorded = [e for e in waiting["timeline"] if e["kind"] == "inspection_recorded"]
    assert recorded[-1]["detail"]["action"] == "treatment_ordered"
    assert recorded[-1]["detail"]["pests_found"] == [FALSE_CODLING_MOTH]

    released = await inspect(
        system,
        declaration_id,
        PHYTO_OFFICER_KEY,
        result="release",
        findings="no live larvae after treatment",
        pests_found=[FALSE_CODLING_MOTH],
        treatment=COLD_TREATMENT,
    )
    assert released.status_code == 201, released.text
    done = await wait_for_status(system, declaration_id, "released")
    phyto = [d for d in done["decisions"] if d["agency"] == "phyto"]
    assert (phyto[-1]["sequence"], phyto[-1]["outcome"]) == (treating["sequence"] + 1, "released")
    assert [r["code"] for r in phyto[-1]["reasons"]] == ["INSPECTION_RELEASED", "PEST_FOUND"]
    assert "after treatment" in phyto[-1]["reasons"][0]["text"]


async def test_goods_destroyed_are_refused_for_good(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.declaration(payloads.certificate_number()))
    await wait_for_status(system, declaration_id, "held")  # the certificate is awaited

    destroyed = await inspect(
        system,
        declaration_id,
        PHYTO_OFFICER_KEY,
        result="seize",
        findings="frass and exit holes in the wooden crates",
        pests_found=["Anoplophora glabripennis"],
        action="destroyed",
    )
    assert destroyed.status_code == 201, destroyed.text
    refused = await wait_for_status(system, declaration_id, "refused")
    assert [(r["code"], r["agency"]) for r in refused["clearance"]["reasons"]] == [
        ("DESTROYED", "phyto"),
        ("PEST_FOUND", "phyto"),
    ]
    again = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="release", treatment=COLD_TREATMENT)
    assert again.status_code == 409  # refused goods are no longer plant health's to release


async def test_a_bad_combination_is_refused_naming_the_field(system: System) -> None:
    declaration_id, _ = await roses_certified_as_grown_elsewhere(system)
    bad: dict[str, dict[str, Any]] = {
        "body.action": {"result": "release", "action": "destroyed"},
        "body.treatment": {"result": "seize", "action": "treatment_ordered", "pests_found": [FALSE_CODLING_MOTH]},
    }
    for path, body in bad.items():
        response = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, **body)
        assert response.status_code == 422, response.text
        assert [error["path"] for error in response.json()["errors"]] == [path]
    untreated = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="release", pests_found=["Thrips palmi"])
    assert untreated.status_code == 422
    [error] = untreated.json()["errors"]
    assert (error["path"], "goods are not released with live pests" in error["message"]) == ("body.treatment", True)
    assert not [
        e for e in (await clearance_of(system, declaration_id))["timeline"] if e["kind"] == "inspection_recorded"
    ]


async def test_a_customs_officer_cannot_record_plant_health_results(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("61091000", "CN", net_mass_kg="500"))
    assert (await customs_decision(system, declaration_id, 1))["outcome"] == "held"

    for body, path in (
        ({"result": "seize", "action": "destroyed"}, "body.action"),
        ({"result": "seize", "pests_found": ["Anoplophora glabripennis"]}, "body.pests_found"),
        ({"result": "release", "treatment": COLD_TREATMENT}, "body.treatment"),
    ):
        response = await inspect(system, declaration_id, CUSTOMS_OFFICER_KEY, **body)
        assert response.status_code == 422, response.text
        assert [error["path"] for error in response.json()["errors"]] == [path]
        assert "only phyto officers record" in response.json()["detail"]
    assert (await customs_decision(system, declaration_id, 1))["outcome"] == "held"  # nothing was recorded
