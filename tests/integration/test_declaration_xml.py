"""Declarations lodged as WCO Data Model XML (the real HMRC samples) and JSON bodies refused for unknown fields."""

from pathlib import Path

import pytest

from services.gateway.domain.callers import Role
from tests.support import payloads
from tests.support.in_process import TRADER_KEY, System, seeded_key

pytestmark = pytest.mark.integration
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "declarations"
XML = {"content-type": "application/xml"}


async def key_for(system: System, trader: str) -> dict[str, str]:
    return await seeded_key(system, Role.TRADER, trader)


@pytest.mark.parametrize(
    ("sample", "declarant", "commodity"),
    [
        ("Step1_TT_IM030a.xml", "XI553202734852", "07099310"),
        ("TT_IM051a.xml", "XI553202734852", "08044000"),
        ("TT_IM075a.xml", "GB896458895015", "06029050"),
    ],
)
async def test_a_real_wco_declaration_is_lodged_as_xml(
    system: System, sample: str, declarant: str, commodity: str
) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared samples are not at {SAMPLES}")
    response = await system.client.post(
        "/v1/declarations", content=(SAMPLES / sample).read_bytes(), headers=XML | await key_for(system, declarant)
    )
    assert response.status_code == 201, response.text
    lodged = response.json()
    assert lodged["declaration"]["declarant"]["id"] == declarant
    assert [item["commodity_code"] for item in lodged["declaration"]["goods_items"]] == [commodity]
    assert lodged["required_agencies"] == ["customs", "phyto"]


async def test_an_xml_declaration_with_a_dtd_is_refused_before_it_expands(system: System) -> None:
    attack = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Declaration>&a;</Declaration>'
    response = await system.client.post("/v1/declarations", content=attack, headers=XML | TRADER_KEY)
    assert response.status_code == 422
    assert "refused" in response.json()["detail"]


async def test_a_json_declaration_with_an_unknown_field_gets_422_naming_it(system: System) -> None:
    body = payloads.declaration(None)
    body["goods_items"][0]["orgin_country"] = "NL"  # a typo of origin_country
    response = await system.client.post("/v1/declarations", json=body, headers=TRADER_KEY)
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["body.goods_items.0.orgin_country"]


async def test_a_declaration_in_another_format_gets_415(system: System) -> None:
    response = await system.client.post(
        "/v1/declarations", content=b"lrn=1", headers=TRADER_KEY | {"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415
