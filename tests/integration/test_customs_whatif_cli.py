"""The what-if command on a customs database: its JSON report is the in-process what-if, and a bad profile exits 2."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import insert

from services.contract.database import create_engine, upgrade
from services.contract.keyed_draw import KeyedDraw
from services.customs.adapters import orm
from services.customs.adapters.rulebook_files import load_profile, load_rulebook
from services.customs.bootstrap import MIGRATIONS
from services.customs.domain.whatif import compare
from services.customs.settings import DATA, CustomsSettings
from tests.support.customs_corpus import corpus

REPO = Path(__file__).resolve().parents[2]
KEY = "whatif-test-key-0123456789abcdef"
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
STORED = 1100
BEFORE_SINCE = 60
"""The first declarations are stored as submitted in October, before the --since day; more than a page remain."""


def submitted_at(index: int) -> datetime:
    if index < BEFORE_SINCE:
        return SINCE - timedelta(days=1 + index % 20, hours=3)
    return SINCE + timedelta(days=index % 25, minutes=index)


@pytest.fixture
async def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/customs.db"
    engine = create_engine(url)
    await upgrade(engine, MIGRATIONS)
    async with engine.begin() as connection:
        await connection.execute(
            insert(orm.declarations),
            [
                {
                    "declaration_id": declaration_id,
                    "version": 1,
                    "declaration": declaration.model_dump(mode="json"),
                    "submitted_at": submitted_at(index),
                }
                for index, (declaration_id, declaration) in enumerate(corpus(STORED))
            ],
        )
    await engine.dispose()
    return url


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    """The shipped profile with a lower value threshold, no timber rule and no random selection."""
    profile = yaml.safe_load((DATA / "risk-profile.yaml").read_text(encoding="utf-8"))
    profile["version"] = f"{profile['version']}-candidate"
    profile["random_selection"] = {}
    profile["rules"] = [rule for rule in profile["rules"] if rule["id"] != "R-TIMBER-DOCS"]
    for rule in profile["rules"]:
        if rule["id"] == "R-HIGH-VALUE":
            rule["min_item_value"] = "20000"
    path = tmp_path / "candidate.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return path


def run_whatif(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("SW_")},
        "SW_CUSTOMS_DATABASE_URL": database_url,
        "SW_CUSTOMS_SELECTIVITY_KEY": KEY,
    }
    command = [sys.executable, "-m", "services.customs.entrypoints.whatif", *arguments]
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=120)


def test_json_report_counts_match_the_in_process_what_if(database_url: str, candidate: Path) -> None:
    result = run_whatif(database_url, "--candidate", str(candidate), "--since", SINCE.date().isoformat(), "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)

    current = load_rulebook(CustomsSettings(), KeyedDraw(KEY.encode()))
    stored = [
        (declaration_id, declaration, submitted_at(index).date())
        for index, (declaration_id, declaration) in enumerate(corpus(STORED))
        if submitted_at(index) >= SINCE
    ]
    expected = compare(current, load_profile(candidate, current), stored).as_dict()
    assert printed == expected
    assert printed["declarations"] == STORED - BEFORE_SINCE
    assert printed["changed"] > 0


def test_table_report_names_both_profiles(database_url: str, candidate: Path) -> None:
    result = run_whatif(database_url, "--candidate", str(candidate))
    assert result.returncode == 0, result.stderr
    assert f"-> {yaml.safe_load(candidate.read_text())['version']}, {STORED} declarations" in result.stdout
    assert "green" in result.stdout


def test_invalid_candidate_exits_2_naming_the_file_and_field(database_url: str, candidate: Path) -> None:
    profile = yaml.safe_load(candidate.read_text(encoding="utf-8"))
    profile["random_selection"]["red"] = "1.5"
    candidate.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    result = run_whatif(database_url, "--candidate", str(candidate), "--json")
    assert result.returncode == 2
    assert str(candidate) in result.stderr
    assert "random_selection.red" in result.stderr
    assert result.stdout == ""


def test_candidate_naming_a_missing_watch_list_exits_2_naming_the_file(database_url: str, candidate: Path) -> None:
    profile = yaml.safe_load(candidate.read_text(encoding="utf-8"))
    profile["rules"].append({"id": "R-NEW-LIST", "lane": "red", "watch_list": "no-such-list", "reason": "listed"})
    candidate.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    result = run_whatif(database_url, "--candidate", str(candidate))
    assert result.returncode == 2
    assert str(candidate) in result.stderr
    assert "no-such-list" in result.stderr


def test_missing_database_file_exits_1_without_creating_it(tmp_path: Path, candidate: Path) -> None:
    missing = tmp_path / "elsewhere" / "customs.db"
    result = run_whatif(f"sqlite+aiosqlite:///{missing}", "--candidate", str(candidate))
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert not missing.exists()
