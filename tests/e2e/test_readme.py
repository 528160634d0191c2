"""The README's shell examples, run as written against the started system."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from deploy.stack import Stack

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def shell_examples() -> str:
    """Every ```sh block of the README, in order (the ```console set-up commands are not run)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (REPO / "README.md").read_text(), flags=re.DOTALL | re.MULTILINE)
    assert blocks, "the README has no ```sh examples"
    return "\n".join(blocks)


def test_readme_examples_run_as_written(stack: Stack) -> None:
    gateway, customs, phyto = stack.services
    env = os.environ | {"SW": gateway.url, "CUSTOMS": customs.url, "PHYTO": phyto.url, "KAFKA": stack.bootstrap}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", shell_examples()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout
    assert result.returncode == 0, f"README examples failed:\n{output}\n{result.stderr}"
    assert re.search(r"^declaration [0-9A-Z]{26}$", output, flags=re.MULTILINE)
    assert '"path": "body.goods_items"' in output  # the 422 example names the bad field
    assert "certificate: HTTP 201" in output
    assert "XML declaration: HTTP 201" in output
    assert "clearance: released" in output
    assert re.search(r"^payment of [0-9]+\.[0-9]{2} GBP: HTTP 201$", output, flags=re.MULTILINE)
    assert "laptops: released" in output
    assert "shirts: held yellow" in output
    assert "inspection: HTTP 201" in output
    assert "shirts: released" in output
    assert "roses: held ['CERTIFICATE_MISMATCH'" in output
    assert "treatment ordered: HTTP 201" in output
    assert "roses: held ['TREATMENT_ORDERED', 'PEST_FOUND']" in output
    assert "release with pests, no treatment: ['body.treatment']" in output
    assert "release after treatment: HTTP 201" in output
    assert "treated roses: released ['INSPECTION_RELEASED', 'PEST_FOUND']" in output
    assert "roses with a typo: held" in output
    assert "amended: version 2 changed ['goods_items.0.documents.0.id']" in output
    assert "roses amended: released" in output
    assert "cancellation: cancelled" in output
    assert "amending released laptops: HTTP 409" in output
    assert "correction: HTTP 201" in output
    assert "payment of 174.68 GBP after the correction: HTTP 201" in output
    assert "arrival: released 0.0 s from arrival to release" in output
    assert re.search(r"^notices: [1-9][0-9]* ; first: clearance.changed [a-z_]+$", output, flags=re.MULTILINE)
    assert "server-sent event: clearance.changed" in output
    assert "webhook: active whsec_" in output
    assert "webhook deleted: HTTP 204" in output
    assert "internal target: host 169.254.169.254 is not on the webhook allow-list" in output
    assert re.search(r"^[1-9][0-9]* released; next page: ", output, flags=re.MULTILINE)
    assert "ce_type:org.singlewindow.ClearanceDecided.v1" in output  # the console consumer printed an event
    assert '"ready": true' in output.replace('"ready":true', '"ready": true')
    assert "sw_events_published_total" in output
