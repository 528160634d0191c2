"""A third agency joins by data and events alone: a wildlife authority, run as its own process from
examples/agencies/wildlife.py (confluent-kafka, importing nothing from the project), checks CITES permits."""

import ast
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.stack import Stack, free_port_run
from services.gateway.settings import DATA
from tests.e2e.api_client import GatewayClient
from tests.support import payloads
from tests.support.profiles import customs_environment
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
AGENCY_SCRIPT = REPO / "examples" / "agencies" / "wildlife.py"
PARROTS = "01063200"


@pytest.fixture(scope="module")
def wildlife_stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three services with a routing table that adds the wildlife authority (a data change only), and the
    authority itself, started in isolated mode (-I: no PYTHONPATH, not even the script's directory)."""
    state = tmp_path_factory.mktemp("wildlife")
    routing = yaml.safe_load((DATA / "routing.yaml").read_text())
    routing["version"] = "2026.1-wildlife"
    routing["agencies"].append(
        {"agency": "wildlife", "commodity_prefixes": ["0106"], "document_codes": ["C400", "C401"]}
    )
    (state / "routing.yaml").write_text(yaml.safe_dump(routing))
    stack = Stack(
        bootstrap=kafka_bootstrap,
        state_dir=state,
        base_port=free_port_run(3, start=23000),
        topic_prefix="wild-",
        extra_env=customs_environment() | {"SW_GATEWAY_ROUTING_TABLE": str(state / "routing.yaml")},
    )
    stack.start(timeout=120)
    with (state / "wildlife.log").open("ab") as log:
        agency = subprocess.Popen(
            [sys.executable, "-I", str(AGENCY_SCRIPT), "--bootstrap", kafka_bootstrap, "--topic-prefix", "wild-"],
            cwd=state,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield stack
    finally:
        agency.terminate()
        agency.wait(timeout=30)
        stack.stop()


@pytest.fixture
async def client(wildlife_stack: Stack) -> AsyncIterator[GatewayClient]:
    gateway = GatewayClient(wildlife_stack.services[0].url)
    yield gateway
    await gateway.close()


def parrots(*documents: dict[str, Any]) -> dict[str, Any]:
    body = payloads.declaration(None)
    body["goods_items"][0] |= {
        "commodity_code": PARROTS,
        "description": "Live parrots (Psittaciformes)",
        "origin_country": "SR",
        "quantity": {"value": "12", "unit": "NAR"},
        "documents": list(documents),
    }
    return body


PERMIT = {"category_code": "C", "type_code": "400", "id": "GBIMP-2026-00042"}


async def test_goods_with_a_cites_permit_are_released_by_all_three_agencies(client: GatewayClient) -> None:
    declaration_id = await client.lodge(parrots(PERMIT))
    released = await client.wait_for_status(declaration_id, "released")
    assert released["required_agencies"] == ["customs", "wildlife"]
    wildlife = [d for d in released["decisions"] if d["agency"] == "wildlife"]
    assert [(d["outcome"], d["reasons"][0]["code"]) for d in wildlife] == [("released", "CITES_PERMITS_CITED")]
    assert wildlife[0]["details"] == {"permits": ["GBIMP-2026-00042"]}


async def test_goods_without_a_permit_are_held_by_the_wildlife_authority_until_amended(client: GatewayClient) -> None:
    body = parrots()
    declaration_id = await client.lodge(body)
    held = await client.wait_for_status(declaration_id, "held")
    assert [(r["agency"], r["code"]) for r in held["clearance"]["reasons"]] == [("wildlife", "CITES_PERMIT_MISSING")]

    await client.amend(declaration_id, parrots(PERMIT) | {"lrn": body["lrn"]})
    released = await client.wait_for_status(declaration_id, "released")
    wildlife = [d for d in released["decisions"] if d["agency"] == "wildlife"]
    assert [(d["declaration_version"], d["outcome"]) for d in wildlife] == [(1, "held"), (2, "released")]


async def test_customs_refers_goods_to_the_wildlife_authority_which_then_must_answer(client: GatewayClient) -> None:
    """Shirts are not routed to the wildlife authority; a customs officer who finds live birds in the crate
    refers them to it. It becomes required on the version, answers the DeclarationReferred event, and the
    goods wait for it and for customs' own release."""
    shirts = payloads.customs_only("61091000", "CN", net_mass_kg="500")
    declaration_id = await client.lodge(shirts)
    held = await client.wait_for_status(declaration_id, "held")
    assert held["required_agencies"] == ["customs"]

    await client.inspect(declaration_id, result="refer", referred_to="wildlife", findings="live birds in crate 3")

    async def wildlife_answered() -> dict[str, Any] | None:
        found = await client.declaration(declaration_id)
        return found if any(d["agency"] == "wildlife" for d in found["decisions"]) else None

    referred = await eventually(wildlife_answered, within=60, what="the wildlife authority to answer the referral")
    assert referred["required_agencies"] == ["customs", "wildlife"]
    assert referred["clearance"]["status"] == "held"
    kinds = [entry["kind"] for entry in referred["timeline"]]
    assert kinds.index("inspection_recorded") < kinds.index("referred")
    [wildlife] = [d for d in referred["decisions"] if d["agency"] == "wildlife"]
    assert (wildlife["declaration_version"], wildlife["outcome"]) == (1, "not_concerned")

    await client.inspect(declaration_id, result="release", findings="birds were a decoy toy; cotton shirts")
    released = await client.wait_for_status(declaration_id, "released")
    customs = [d for d in released["decisions"] if d["agency"] == "customs"]
    assert [d["reasons"][0]["code"] for d in customs][-2:] == ["REFERRED", "INSPECTION_RELEASED"]


def test_the_agency_imports_nothing_from_the_project() -> None:
    """Standard library and confluent-kafka only (the isolated start above would fail otherwise, too)."""
    tree = ast.parse(AGENCY_SCRIPT.read_text())
    modules = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    modules |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert modules - set(sys.stdlib_module_names) == {"confluent_kafka"}
