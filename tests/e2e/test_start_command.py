"""The README's first command: everything starts, the banner shows URLs and keys, Ctrl-C stops everything."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.stack import free_port_run

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"


def test_start_command_comes_up_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    base, kafka_port = free_port_run(3), free_port_run(2, start=31000)
    command = [
        sys.executable,
        "-m",
        "deploy.stack",
        "--state-dir",
        str(tmp_path),
        "--base-port",
        str(base),
        "--kafka-port",
        str(kafka_port),
        "--kafka-home",
        str(tmp_path / "kafka"),
    ]
    banner = tmp_path / "banner.txt"
    with banner.open("w") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "Press Ctrl-C to stop." not in banner.read_text():
            assert process.poll() is None, banner.read_text()
            assert time.monotonic() < deadline, f"not up after 120 s:\n{banner.read_text()}"
            time.sleep(0.2)
        text = banner.read_text()
        assert f"http://127.0.0.1:{base}/docs" in text
        assert "dev-trader-GB123456789000" in text
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        broker_pid = int((tmp_path / "kafka" / "broker.pid").read_text())
        assert str(broker_pid) in children
        assert len(children) == 4  # the broker and the three services

        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "stopped." in banner.read_text()
    assert not any(alive(int(pid)) for pid in children)
    assert not alive(broker_pid)
    for service in ("gateway", "customs", "phyto"):  # each went through the graceful stop
        assert "stopped" in logged_messages(tmp_path / "logs" / f"{service}.log"), service


def logged_messages(log: Path) -> list[str]:
    """The messages of a service's JSON log lines (a line that is not one, a crash's output, is left out)."""
    messages = []
    for line in log.read_text().splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            messages.append(json.loads(line)["message"])
    return messages
