"""Loading rules files: every shipped file loads, and a broken one is refused naming the file and the place."""

from pathlib import Path

import pytest
from pydantic import BaseModel

from services.contract.rules_file import RulesFileError, load_rules
from services.customs.domain.risk import RiskProfile
from services.gateway.domain.routing import RoutingTable
from services.phyto.domain.requirements import ImportRequirements
from tests.unit.builders import IMPORT_REQUIREMENTS, RISK_PROFILE, ROUTING_TABLE

VALID_ROUTING = """\
version: "test"
effective_from: 2026-01-01
agencies:
  - agency: customs
    always: true
"""


@pytest.mark.parametrize(
    ("path", "model"),
    [(ROUTING_TABLE, RoutingTable), (RISK_PROFILE, RiskProfile), (IMPORT_REQUIREMENTS, ImportRequirements)],
    ids=["routing", "risk-profile", "import-requirements"],
)
def test_shipped_rules_files_load(path: Path, model: type[BaseModel]):
    assert isinstance(load_rules(path, model), model)


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_loads_into_the_model(tmp_path):
    routing = load_rules(written(tmp_path, VALID_ROUTING), RoutingTable)
    assert [route.agency for route in routing.agencies] == ["customs"]


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(RulesFileError, match="cannot read") as raised:
        load_rules(path, RoutingTable)
    assert str(path) in str(raised.value)


def test_yaml_syntax_error_names_the_file_and_line(tmp_path):
    path = written(tmp_path, VALID_ROUTING + "   - agency: phyto\n  commodity_prefixes: [06\n")
    with pytest.raises(RulesFileError, match="not valid YAML") as raised:
        load_rules(path, RoutingTable)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert "line 6" in message


def test_schema_error_names_the_file_and_the_field_path(tmp_path):
    path = written(tmp_path, VALID_ROUTING.replace("agency: customs", "agency: Customs"))
    with pytest.raises(RulesFileError) as raised:
        load_rules(path, RoutingTable)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert "agencies.0.agency" in message


def test_every_schema_error_is_listed(tmp_path):
    path = written(tmp_path, VALID_ROUTING.replace("always: true", "always: true\n    colour: red") + "extra: 1\n")
    with pytest.raises(RulesFileError) as raised:
        load_rules(path, RoutingTable)
    assert "agencies.0.colour" in str(raised.value)
    assert "extra" in str(raised.value)


def test_empty_file_is_a_schema_error_at_the_root(tmp_path):
    with pytest.raises(RulesFileError, match=r"\(root\)"):
        load_rules(written(tmp_path, ""), RoutingTable)


def test_error_keeps_its_cause(tmp_path):
    with pytest.raises(RulesFileError) as raised:
        load_rules(written(tmp_path, "agencies: []\n"), RoutingTable)
    assert raised.value.__cause__ is not None
