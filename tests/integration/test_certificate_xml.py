"""ePhyto certificates delivered as the Hub delivers them: real sample XML, envelopes, redelivery, attacks."""

import pytest

from services.gateway.domain.callers import Role
from tests.support.in_process import TRADER_KEY, System, seeded_key
from tests.unit.ephyto_attacks import billion_laughs
from tests.unit.test_ephyto_xml import SAMPLES, content_envelope, sample

pytestmark = pytest.mark.integration
XML = {"content-type": "application/xml"}


async def nppo_key(system: System, country: str) -> dict[str, str]:
    return await seeded_key(system, Role.NPPO, country)


def needs_samples() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared ePhyto samples are not at {SAMPLES}")


async def test_the_real_ephyto_sample_is_received_and_its_document_kept(system: System) -> None:
    needs_samples()
    document = sample("SPSCertificateContent.xml")
    key = await nppo_key(system, "AR")
    response = await system.client.post("/v1/certificates", content=document, headers=XML | key)

    assert response.status_code == 201, response.text
    received = response.json()
    assert (received["issuing_country"], received["number"]) == ("AR", "123ABC")
    assert received["certificate"]["line_items"][0]["commodity_code"] == "06029048"
    kept = await system.client.get(f"/v1/certificates/{received['id']}/document", headers=key)
    assert kept.status_code == 200
    assert kept.headers["content-type"] == "application/xml"
    assert kept.content == document


async def test_a_hub_redelivery_is_recognised_by_its_delivery_number(system: System) -> None:
    needs_samples()
    enveloped = content_envelope(sample("SPSCertificateContent.xml"))
    key = await nppo_key(system, "AR")
    first = await system.client.post("/v1/certificates", content=enveloped, headers=XML | key)
    again = await system.client.post("/v1/certificates", content=enveloped, headers=XML | key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["certificate"]["hub_delivery_number"] == "HUB-2026-0042"


async def test_a_ched_record_is_refused_as_not_a_phytosanitary_certificate(system: System) -> None:
    needs_samples()
    response = await system.client.post(
        "/v1/certificates",
        content=sample("GetChedResponse_CHEDPP.XI.2026.0000064.xml"),
        headers=XML | await nppo_key(system, "GB"),
    )
    assert response.status_code == 422
    assert "not a phytosanitary certificate (type 636)" in response.json()["detail"]


async def test_an_entity_expansion_attack_is_refused_with_422(system: System) -> None:
    response = await system.client.post(
        "/v1/certificates", content=billion_laughs(), headers=XML | await nppo_key(system, "AR")
    )
    assert response.status_code == 422
    assert "traceback" not in response.text.lower()


async def test_a_certificate_sent_as_json_has_no_xml_document(system: System) -> None:
    from tests.support import payloads
    from tests.support.in_process import NPPO_KEY

    created = await system.client.post(
        "/v1/certificates", json=payloads.certificate(payloads.certificate_number()), headers=NPPO_KEY
    )
    response = await system.client.get(f"/v1/certificates/{created.json()['id']}/document", headers=NPPO_KEY)
    assert response.status_code == 404
    assert (
        await system.client.get(f"/v1/certificates/{created.json()['id']}/document", headers=TRADER_KEY)
    ).status_code == 404
