"""Rule files reloaded in a running service on SIGHUP, through the operator's command: a file that loads is in
force for the next request; a file that does not load is refused by the command before any signal, and a
signal sent anyway leaves the rules in force and says why in the log."""

import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import yaml

from deploy.stack import Stack, free_port_run
from services.gateway.settings import GatewaySettings
from services.phyto.settings import PhytoSettings
from tests.e2e.api_client import GatewayClient
from tests.support import payloads
from tests.support.commands import run_module
from tests.support.profiles import customs_environment
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def routing_file(tmp_path: Path) -> Path:
    copy = tmp_path / "routing.yaml"
    copy.write_text(GatewaySettings.model_fields["routing_table"].default.read_text())
    return copy


@pytest.fixture
def gateway_alone(kafka_bootstrap: str, tmp_path: Path, routing_file: Path) -> Iterator[Stack]:
    stack = Stack(
        bootstrap=kafka_bootstrap,
        state_dir=tmp_path / "stack",
        base_port=free_port_run(3, start=25000),
        topic_prefix=f"reload{os.getpid()}.",
        extra_env=customs_environment() | {"SW_GATEWAY_ROUTING_TABLE": str(routing_file)},
    )
    stack.start_service("gateway", timeout=60)
    try:
        yield stack
    finally:
        stack.stop()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


async def routing_version(gateway: GatewayClient) -> str:
    declaration_id = await gateway.lodge(payloads.declaration(payloads.certificate_number()))
    return str((await gateway.declaration(declaration_id))["routing_version"])


async def test_the_gateway_reloads_its_routing_table_on_the_operators_command(
    gateway_alone: Stack, routing_file: Path
) -> None:
    gateway = GatewayClient(gateway_alone.services[0].url)
    pid = gateway_alone.processes["gateway"].pid
    operator_env = os.environ | {"SW_GATEWAY_ROUTING_TABLE": str(routing_file)}
    try:
        shipped = await routing_version(gateway)
        edit(routing_file, f'version: "{shipped}"', 'version: "reloaded-1"')

        ran = await run_module(
            "services.operator", "rules", "reload", "--service", "gateway", "--pid", str(pid), env=operator_env
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "routing reloaded-1" in ran.stdout

        async def in_force() -> bool:
            return await routing_version(gateway) == "reloaded-1"

        await eventually(in_force, within=20, what="the gateway to route with the reloaded table")

        edit(routing_file, "version:", "versio:")
        refused = await run_module(
            "services.operator", "rules", "reload", "--service", "gateway", "--pid", str(pid), env=operator_env
        )
        assert refused.returncode == 1
        assert "nothing was reloaded" in refused.stdout

        os.kill(pid, signal.SIGHUP)  # sent anyway: the gateway keeps the table in force and says why

        async def logged() -> bool:
            return (
                "routing.yaml reload refused, keeping version reloaded-1"
                in gateway_alone.log_file("gateway").read_text()
            )

        await eventually(logged, within=20, what="the gateway to log the refused reload")
        assert gateway_alone.processes["gateway"].poll() is None
        assert await routing_version(gateway) == "reloaded-1"
    finally:
        await gateway.close()


@pytest.fixture
def phyto_alone(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[Stack, Path]]:
    requirements = tmp_path / "import-requirements.yaml"
    requirements.write_text(PhytoSettings.model_fields["import_requirements"].default.read_text())
    stack = Stack(
        bootstrap=kafka_bootstrap,
        state_dir=tmp_path / "stack",
        base_port=free_port_run(3, start=25100),
        topic_prefix=f"reload{os.getpid()}.",
        extra_env={"SW_PHYTO_IMPORT_REQUIREMENTS": str(requirements)},
    )
    stack.start_service("phyto", timeout=60)
    try:
        yield stack, requirements
    finally:
        stack.stop()


async def test_plant_health_reloads_its_import_requirements_on_the_operators_command(
    phyto_alone: tuple[Stack, Path],
) -> None:
    stack, requirements = phyto_alone
    pid = stack.processes["phyto"].pid
    operator_env = os.environ | {"SW_PHYTO_IMPORT_REQUIREMENTS": str(requirements)}
    shipped = yaml.safe_load(requirements.read_text())["version"]
    edit(requirements, f'version: "{shipped}"', 'version: "reloaded-2"')

    ran = await run_module(
        "services.operator", "rules", "reload", "--service", "phyto", "--pid", str(pid), env=operator_env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "import_requirements reloaded-2" in ran.stdout

    def logged(text: str) -> Callable[[], Awaitable[bool]]:
        async def found() -> bool:
            return text in stack.log_file("phyto").read_text()

        return found

    await eventually(logged("import-requirements.yaml reloaded: version reloaded-2"), within=20, what="the reload")

    edit(requirements, "regulated:", "regulatd:")
    refused = await run_module(
        "services.operator", "rules", "reload", "--service", "phyto", "--pid", str(pid), env=operator_env
    )
    assert (refused.returncode, "nothing was reloaded" in refused.stdout) == (1, True)
    os.kill(pid, signal.SIGHUP)
    await eventually(
        logged("import-requirements.yaml reload refused, keeping version reloaded-2"), within=20, what="the refusal"
    )
    assert stack.processes["phyto"].poll() is None
