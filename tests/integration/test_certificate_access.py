"""A trader reads a phytosanitary certificate through a declaration of the consignment it was issued for, never
through a declaration that merely cites its number (numbers can be guessed)."""

from typing import Any

import pytest

from services.gateway.entrypoints.examples import CERTIFICATE_XML_EXAMPLE
from tests.integration.test_certificate_xml import XML
from tests.support import payloads
from tests.support.in_process import NPPO_KEY, OTHER_TRADER_KEY, TRADER_KEY, System

pytestmark = pytest.mark.integration
OTHER_TRADER = "GB987654321000"


def citing(number: str, **changes: Any) -> dict[str, Any]:
    """A declaration of the other trader's own, as declarant and importer, citing `number`."""
    return payloads.declaration(number, declarant={"id": OTHER_TRADER}, authorisations=[], **changes)


async def test_a_trader_citing_another_consignments_certificate_gets_404_and_none_of_its_data(system: System) -> None:
    delivered = await system.client.post("/v1/certificates", content=CERTIFICATE_XML_EXAMPLE, headers=XML | NPPO_KEY)
    assert delivered.status_code == 201, delivered.text
    certificate = delivered.json()
    number, read = certificate["number"], f"/v1/certificates/{certificate['id']}"
    reads = [read, f"{read}/document"]
    assert certificate["certificate"]["consignee"]["name"] == "Roses Import Ltd"
    ours = payloads.declaration(number)  # its importer is named as the consignee
    theirs = [
        citing(number, importer={"id": OTHER_TRADER, "name": "Tulip Traders Ltd"}),
        citing(number, importer={"id": OTHER_TRADER}),  # known by its EORI alone: nothing ties it to the certificate
    ]
    for body, key in [(ours, TRADER_KEY), *((body, OTHER_TRADER_KEY) for body in theirs)]:
        lodged = await system.client.post("/v1/declarations", json=body, headers=key)
        assert lodged.status_code == 201, lodged.text

    mine = [await system.client.get(path, headers=TRADER_KEY) for path in reads]
    assert [response.status_code for response in mine] == [200, 200]
    assert mine[0].json()["certificate"]["consignee"]["name"] == "Roses Import Ltd"
    assert mine[1].text == CERTIFICATE_XML_EXAMPLE

    secrets = ["Roses Import Ltd", "Bloemen Export BV", "Rosa", number]
    for path in reads:
        response = await system.client.get(path, headers=OTHER_TRADER_KEY)
        assert response.status_code == 404, response.text
        assert [secret for secret in secrets if secret in response.text] == []
