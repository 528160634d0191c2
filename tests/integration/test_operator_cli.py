"""The operator's one command, run as its own process against the running services, the broker and the databases."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.integration.test_customs_controls import customs_decision
from tests.integration.test_flow import submit_declaration
from tests.support import payloads
from tests.support.commands import Ran, run_module
from tests.support.in_process import System
from tests.support.profiles import SELECTIVITY_KEY
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
CUSTOMS_DATA = Path(__file__).resolve().parents[2] / "services" / "customs" / "data"


def environment(system: System) -> dict[str, str]:
    """The variables the services of `system` run with, as an operator's shell would have them."""
    env = dict(os.environ)
    for service, settings in (
        ("GATEWAY", system.gateway.settings),
        ("CUSTOMS", system.customs.runtime.settings),
        ("PHYTO", system.phyto.runtime.settings),
    ):
        env[f"SW_{service}_KAFKA_BOOTSTRAP"] = system.bootstrap
        env[f"SW_{service}_TOPIC_PREFIX"] = system.topic_prefix
        env[f"SW_{service}_DATABASE_URL"] = settings.database_url
    env["SW_CUSTOMS_SELECTIVITY_KEY"] = SELECTIVITY_KEY
    return env


async def operator(system: System, *args: str, **extra: str) -> Ran:
    return await run_module("services.operator", *args, env=environment(system) | extra)


async def test_topics_lag_replay_and_audit(system: System) -> None:
    topics = await operator(system, "topics")
    assert topics.returncode == 0, topics.stderr
    assert f"{system.topic('declarations')}" in topics.stdout
    assert "created" not in topics.stdout  # the services made them all at start

    declaration_id = await submit_declaration(system, payloads.customs_only("61091000", "CN", net_mass_kg="5"))
    await customs_decision(system, declaration_id, 1)

    async def customs_caught_up() -> str | None:
        lag = await operator(system, "lag", "--service", "customs")
        assert lag.returncode == 0, lag.stderr
        rows = [line.split() for line in lag.stdout.splitlines()]
        mine = [row for row in rows if row[:2] == [system.topic("customs"), system.topic("declarations")]]
        return lag.stdout if mine and all(row[-1] == "0" for row in mine) else None

    shown = await eventually(customs_caught_up, within=30, what="customs' group to show no lag on declarations")
    assert "total lag" in shown

    replayed = await operator(system, "replay", "--dead-letter-topic", system.topic("decisions.dlq"))
    assert (replayed.returncode, replayed.stdout.strip()) == (
        0,
        f"replayed 0 record(s) from {system.topic('decisions.dlq')}",
    )

    async def verified() -> Ran | None:
        ran = await operator(system, "audit", "verify")
        return ran if ran.returncode == 0 and "0 not sealed yet" in ran.stdout else None

    audit = await eventually(verified, within=30, what="the audit trail to verify with everything sealed")
    assert "the trail is intact" in audit.stdout


async def test_rules_are_checked_before_a_reload_is_signalled(system: System, tmp_path: Path) -> None:
    flag = tmp_path / "reloaded"
    waiter = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import signal, pathlib, sys, time\n"
        f"signal.signal(signal.SIGHUP, lambda *_: (pathlib.Path({str(flag)!r}).write_text('yes'), sys.exit(0)))\n"
        "time.sleep(60)\n",
    )
    try:
        broken = tmp_path / "risk-profile.yaml"
        broken.write_text((CUSTOMS_DATA / "risk-profile.yaml").read_text().replace("version:", "versio:", 1))
        refused = await operator(
            system,
            "rules",
            "reload",
            "--service",
            "customs",
            "--pid",
            str(waiter.pid),
            SW_CUSTOMS_RISK_PROFILE=str(broken),
        )
        assert refused.returncode == 1
        assert "nothing was reloaded" in refused.stdout
        assert str(broken) in refused.stdout
        assert waiter.returncode is None
        assert not flag.exists()

        checked = await operator(system, "rules", "check", "--service", "customs")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "risk_profile" in checked.stdout

        reloaded = await operator(system, "rules", "reload", "--service", "customs", "--pid", str(waiter.pid))
        assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
        assert await asyncio.wait_for(waiter.wait(), timeout=30) == 0
        assert flag.read_text() == "yes"

        for service, rules in (("gateway", "routing"), ("phyto", "import_requirements")):
            checked = await operator(system, "rules", "check", "--service", service)
            assert (checked.returncode, checked.stdout.split(":")[0]) == (0, "the rule files load"), checked.stdout
            assert rules in checked.stdout
    finally:
        if waiter.returncode is None:
            waiter.send_signal(signal.SIGKILL)
            await waiter.wait()
