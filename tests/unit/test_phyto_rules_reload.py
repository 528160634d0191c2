"""Reloading phyto's rules: a good file takes over, a bad one leaves the rules in force and the log says why."""

import logging
from pathlib import Path

import pytest

from services.contract.rules_file import RulesFileError
from services.phyto.adapters.rules_files import PhytoRulesHolder, load_phyto_rules, load_requirements
from services.phyto.settings import PhytoSettings
from tests.unit.builders import IMPORT_REQUIREMENTS

KEY = "test-inspection-key-0123456789"


def settings(path: Path) -> PhytoSettings:
    return PhytoSettings(import_requirements=path, inspection_key=KEY, importing_country="IE")


def copy_of_shipped(tmp_path: Path) -> Path:
    path = tmp_path / "import-requirements.yaml"
    path.write_text(IMPORT_REQUIREMENTS.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_load_phyto_rules_gives_the_requirements_border_and_draw(tmp_path: Path) -> None:
    rules = load_phyto_rules(settings(copy_of_shipped(tmp_path)))
    assert rules.importing_country == "IE"
    assert rules.version == load_requirements(settings(IMPORT_REQUIREMENTS)).version
    assert rules.draw("v", "d") == load_phyto_rules(settings(IMPORT_REQUIREMENTS)).draw("v", "d")


def test_a_broken_file_names_itself_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text('version: "x"\neffective_from: 2026-11-01\nregulated: []\ninspections: {base_rate: "2"}\n')
    with pytest.raises(RulesFileError, match=r"broken.yaml: inspections.base_rate"):
        load_phyto_rules(settings(path))


def test_reload_takes_a_new_version(tmp_path: Path) -> None:
    path = copy_of_shipped(tmp_path)
    holder = PhytoRulesHolder(settings(path))
    path.write_text(path.read_text().replace(holder.current.version, "2027.01-1"))
    assert holder.reload() is True
    assert holder.current.version == "2027.01-1"


def test_reload_of_a_bad_file_keeps_the_rules_in_force(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = copy_of_shipped(tmp_path)
    holder = PhytoRulesHolder(settings(path))
    before = holder.current
    path.write_text(path.read_text() + "\nunexpected_section: 1\n")
    with caplog.at_level(logging.ERROR):
        assert holder.reload() is False
    assert holder.current is before
    assert f"keeping version {before.version}" in caplog.text
    assert "unexpected_section" in caplog.text


def test_the_key_file_is_created_once_and_then_reused(tmp_path: Path) -> None:
    keyless = PhytoSettings(import_requirements=IMPORT_REQUIREMENTS, inspection_key_file=tmp_path / "var" / "k.key")
    first = load_phyto_rules(keyless).draw("v", "d")
    assert (tmp_path / "var" / "k.key").stat().st_mode & 0o777 == 0o600
    assert load_phyto_rules(keyless).draw("v", "d") == first
