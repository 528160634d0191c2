"""Controls over the real broker: duties held until paid, officers' inspection results (customs and plant health),
unknown codes refused."""

from typing import Any

import pytest

from tests.integration.test_flow import clearance_of, submit_declaration, wait_for_status
from tests.support import payloads
from tests.support.in_process import CUSTOMS_OFFICER_KEY, NPPO_KEY, PHYTO_OFFICER_KEY, TRADER_KEY, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def customs_decision(system: System, declaration_id: str, sequence: int) -> dict[str, Any]:
    async def decided() -> dict[str, Any] | None:
        body = await clearance_of(system, declaration_id)
        found = [d for d in body["decisions"] if d["agency"] == "customs" and d["sequence"] == sequence]
        return found[0] if found else None

    return await eventually(decided, within=30, what=f"customs decision {sequence} on {declaration_id}")


async def pay(system: System, declaration_id: str, amount: str, reference: str) -> Any:
    body = {"amount": {"value": amount, "currency": "GBP"}, "reference": reference}
    return await system.client.post(f"/v1/declarations/{declaration_id}/payments", json=body, headers=TRADER_KEY)


async def inspect(system: System, declaration_id: str, headers: dict[str, str] | None = None, **result: Any) -> Any:
    return await system.client.post(
        f"/v1/declarations/{declaration_id}/inspections", json=result, headers=headers or CUSTOMS_OFFICER_KEY
    )


async def roses_certified_as_grown_elsewhere(system: System) -> tuple[str, dict[str, Any]]:
    """Roses declared from NL whose certificate says they were grown in Kenya: plant health holds them."""
    number = payloads.certificate_number()
    certificate = payloads.certificate(number)
    certificate["line_items"][0]["origin_countries"] = ["KE"]
    assert (await system.client.post("/v1/certificates", json=certificate, headers=NPPO_KEY)).status_code == 201
    declaration_id = await submit_declaration(system, payloads.declaration(number))

    async def mismatched() -> dict[str, Any] | None:
        # Phyto may see the declaration before the certificate (two topics): held awaiting it, then mismatched.
        found = await clearance_of(system, declaration_id)
        codes = [r["code"] for r in found["clearance"]["reasons"]]
        return found if found["clearance"]["status"] == "held" and codes == ["CERTIFICATE_MISMATCH"] else None

    return declaration_id, await eventually(mismatched, within=30, what="plant health to hold on the mismatch")


async def test_unpaid_vat_holds_the_goods_until_payments_cover_it(system: System) -> None:
    # Laptops: 0% duty; 8400.00 EUR / 1.1450 = 7336.24 GBP; VAT 20% = 1467.24 GBP, no deferment declared.
    declaration_id = await submit_declaration(system, payloads.customs_only("84713000", "CN", deferment=False))
    held = await customs_decision(system, declaration_id, 1)
    assert held["outcome"] == "held"
    assert [r["code"] for r in held["reasons"]] == ["DUTY_UNSECURED"]
    assert held["details"]["duties"]["total"] == "1467.24"

    first = await pay(system, declaration_id, "1000.00", "BANK-1")
    assert first.status_code == 201, first.text
    again = await pay(system, declaration_id, "1000.00", "BANK-1")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert (await pay(system, declaration_id, "999.00", "BANK-1")).status_code == 409

    assert (await pay(system, declaration_id, "467.24", "BANK-2")).status_code == 201
    released = await wait_for_status(system, declaration_id, "released")
    customs = [d for d in released["decisions"] if d["agency"] == "customs"]
    assert [(d["sequence"], d["outcome"]) for d in customs] == [(1, "held"), (2, "released")]
    assert customs[-1]["details"]["security"] == "paid"
    assert customs[-1]["details"]["paid"] == "1467.24"
    kinds = [entry["kind"] for entry in released["timeline"]]
    assert kinds.count("payment_recorded") == 2


async def test_officer_releases_goods_held_for_a_documentary_check(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("61091000", "CN", net_mass_kg="500"))
    held = await customs_decision(system, declaration_id, 1)
    assert (held["outcome"], held["details"]["lane"]) == ("held", "yellow")
    assert "R-TEXTILES-ORIGIN" in held["details"]["rules_hit"]

    response = await inspect(system, declaration_id, result="release", findings="origin documents in order")
    assert response.status_code == 201, response.text
    assert response.json()["agency"] == "customs"

    released = await wait_for_status(system, declaration_id, "released")
    latest = next(d for d in released["decisions"] if d["agency"] == "customs" and d["sequence"] == 2)
    assert [r["code"] for r in latest["reasons"]] == ["INSPECTION_RELEASED"]
    assert latest["details"]["inspection"]["findings"] == "origin documents in order"


async def test_officer_seizure_refuses_the_consignment(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("61091000", "CN", net_mass_kg="500"))
    await customs_decision(system, declaration_id, 1)
    response = await inspect(system, declaration_id, result="seize", findings="counterfeit labels")
    assert response.status_code == 201, response.text
    refused = await wait_for_status(system, declaration_id, "refused")
    assert "counterfeit labels" in refused["clearance"]["reasons"][0]["text"]


async def test_inspections_are_only_for_the_officers_agency_and_held_goods(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("61091000", "CN", net_mass_kg="500"))
    await customs_decision(system, declaration_id, 1)

    not_required = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="release")
    assert not_required.status_code == 409
    assert "phyto is not required" in not_required.json()["detail"]
    assert (await inspect(system, declaration_id, TRADER_KEY, result="release")).status_code == 403
    referral = await inspect(system, declaration_id, result="refer")
    assert referral.status_code == 422
    assert "referred_to" in referral.text
    for nowhere in ("wildlife", "customs"):  # an agency this border does not have; the officer's own
        unknown = await inspect(system, declaration_id, result="refer", referred_to=nowhere)
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["path"] == "body.referred_to"

    assert (await inspect(system, declaration_id, result="release")).status_code == 201
    await wait_for_status(system, declaration_id, "released")
    after = await inspect(system, declaration_id, result="seize")
    assert after.status_code == 409
    assert "only goods it holds" in after.json()["detail"]


async def test_unknown_commodity_code_is_refused_with_the_reason(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.customs_only("99999999", "CN"))
    refused = await wait_for_status(system, declaration_id, "refused")
    [reason] = refused["clearance"]["reasons"]
    assert reason["code"] == "UNKNOWN_COMMODITY_CODE"
    assert "99999999" in reason["text"]


async def test_plant_health_officer_settles_a_certificate_mismatch(system: System) -> None:
    declaration_id, held = await roses_certified_as_grown_elsewhere(system)
    assert [r["code"] for r in held["clearance"]["reasons"]] == ["CERTIFICATE_MISMATCH"]

    assert (await inspect(system, declaration_id, result="release")).status_code == 409  # customs released
    response = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="release", findings="roses grown in NL")
    assert response.status_code == 201, response.text
    released = await wait_for_status(system, declaration_id, "released")
    phyto = [d for d in released["decisions"] if d["agency"] == "phyto"]
    # (1, held) then (2, released); or, when phyto saw the declaration before the certificate, (1, held awaiting
    # it) first.
    assert [d["outcome"] for d in phyto][-2:] == ["held", "released"]
    assert [d["sequence"] for d in phyto] == list(range(1, len(phyto) + 1))
    assert [r["code"] for r in phyto[-1]["reasons"]] == ["INSPECTION_RELEASED"]
    assert "roses grown in NL" in phyto[-1]["reasons"][0]["text"]


async def test_plant_health_seizure_refuses_the_consignment(system: System) -> None:
    declaration_id = await submit_declaration(system, payloads.declaration(payloads.certificate_number()))
    await wait_for_status(system, declaration_id, "held")
    response = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="seize", findings="no certificate")
    assert response.status_code == 201, response.text
    refused = await wait_for_status(system, declaration_id, "refused")
    assert [(r["code"], r["agency"]) for r in refused["clearance"]["reasons"]] == [("GOODS_SEIZED", "phyto")]


async def test_customs_refers_goods_to_plant_health_which_holds_them_until_its_officer_releases(
    system: System,
) -> None:
    """Shirts are not routed to plant health; bore holes in their pallets make customs refer them. Plant health
    becomes required, holds for its own inspection, and release waits for both officers; a later amendment keeps
    plant health required."""
    body = payloads.customs_only("61091000", "CN", net_mass_kg="500")
    declaration_id = await submit_declaration(system, body)
    await customs_decision(system, declaration_id, 1)
    early = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="release")
    assert early.status_code == 409  # not plant health's goods until referred

    referral = await inspect(
        system, declaration_id, result="refer", referred_to="phyto", findings="bore holes in the wooden pallets"
    )
    assert referral.status_code == 201, referral.text

    async def phyto_holds() -> dict[str, Any] | None:
        found = await clearance_of(system, declaration_id)
        return found if any(d["agency"] == "phyto" for d in found["decisions"]) else None

    held = await eventually(phyto_holds, within=30, what="plant health to hold the referred goods")
    assert held["required_agencies"] == ["customs", "phyto"]
    [phyto] = [d for d in held["decisions"] if d["agency"] == "phyto"]
    assert (phyto["declaration_version"], phyto["sequence"], phyto["outcome"]) == (1, 1, "held")
    assert phyto["reasons"][0]["code"] == "REFERRED_FOR_INSPECTION"
    assert phyto["reasons"][0]["text"] == "referred to plant health by customs: bore holes in the wooden pallets"
    referred = next(e for e in held["timeline"] if e["kind"] == "referred")
    assert (referred["agency"], referred["detail"]["referred_to"]) == ("customs", "phyto")

    cleared = await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="release", findings="ISPM 15 mark")
    assert cleared.status_code == 201, cleared.text
    await eventually(lambda: _outcome_of(system, declaration_id, "phyto", 2), within=30, what="plant health's release")
    assert (await clearance_of(system, declaration_id))["clearance"]["status"] == "held"  # customs still holds

    amended = await system.client.post(
        f"/v1/declarations/{declaration_id}/amendments",
        json=body | {"function_code": "4", "goods_items": [body["goods_items"][0] | {"net_mass_kg": "480"}]},
        headers=TRADER_KEY,
    )
    assert amended.status_code == 201, amended.text
    assert amended.json()["required_agencies"] == ["customs", "phyto"]  # the referral stands on version 2


async def test_plant_health_refers_goods_to_customs_which_holds_them_for_its_own_control(system: System) -> None:
    declaration_id, _ = await roses_certified_as_grown_elsewhere(system)
    assert (await customs_decision(system, declaration_id, 1))["outcome"] == "released"

    referral = await inspect(
        system, declaration_id, PHYTO_OFFICER_KEY, result="refer", referred_to="customs", findings="undeclared bulbs"
    )
    assert referral.status_code == 201, referral.text
    customs = await customs_decision(system, declaration_id, 2)
    assert (customs["outcome"], customs["reasons"][0]["code"]) == ("held", "REFERRED_FOR_CONTROL")
    assert customs["details"]["referral"] == {"referred_by": "phyto", "findings": "undeclared bulbs"}

    assert (await inspect(system, declaration_id, result="release", findings="bulbs declared")).status_code == 201
    assert (await customs_decision(system, declaration_id, 3))["outcome"] == "released"
    assert (await clearance_of(system, declaration_id))["clearance"]["status"] == "held"  # phyto still holds
    assert (await inspect(system, declaration_id, PHYTO_OFFICER_KEY, result="release")).status_code == 201
    await wait_for_status(system, declaration_id, "released")


async def _outcome_of(system: System, declaration_id: str, agency: str, sequence: int) -> str | None:
    body = await clearance_of(system, declaration_id)
    found = [d["outcome"] for d in body["decisions"] if d["agency"] == agency and d["sequence"] == sequence]
    return found[0] if found else None
