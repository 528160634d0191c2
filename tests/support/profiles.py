"""Rule files for running systems in tests: the shipped ones, less what would make an outcome a matter of chance."""

import functools
import tempfile
from pathlib import Path

import yaml

from services.customs.settings import DATA as CUSTOMS_DATA

SELECTIVITY_KEY = "test-selectivity-key-0123456789abcdef"


@functools.cache
def risk_profile_without_random_selection() -> Path:
    """The shipped risk profile with its random selection rates at zero, so a test knows the lane it expects.

    Random selection itself is tested on the domain (tests/unit/test_risk.py) with known draws.
    """
    profile = yaml.safe_load((CUSTOMS_DATA / "risk-profile.yaml").read_text(encoding="utf-8"))
    profile["random_selection"] = {}
    profile["version"] = f"{profile['version']}-no-random"
    path = Path(tempfile.mkdtemp(prefix="sw-profiles-")) / "risk-profile.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return path


def customs_environment() -> dict[str, str]:
    """SW_CUSTOMS_* variables for a customs process started by a test."""
    return {
        "SW_CUSTOMS_RISK_PROFILE": str(risk_profile_without_random_selection()),
        "SW_CUSTOMS_SELECTIVITY_KEY": SELECTIVITY_KEY,
    }
