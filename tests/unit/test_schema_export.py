"""The committed schemas are generated from the models, are valid JSON Schema, and accept real events."""

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from services.contract.certificate import Certificate
from services.contract.declaration import Declaration
from services.contract.events import EVENT_TYPES, Event
from services.contract.schema_export import ROOT, event_schema, rendered, schema_file
from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE, DECLARATION_EXAMPLE
from tests.unit.builders import agency_decision_made, certificate_received, clearance_decided, declaration_submitted

REGENERATE = "run `python -m services.contract.schema_export` and commit the result"

EVENT_CLASSES = [pytest.param(event, id=event.__name__) for event in EVENT_TYPES.values()]
EVENT_EXAMPLES = [
    pytest.param(declaration_submitted(), id="DeclarationSubmitted"),
    pytest.param(certificate_received(), id="CertificateReceived"),
    pytest.param(agency_decision_made(), id="AgencyDecisionMade"),
    pytest.param(clearance_decided(), id="ClearanceDecided"),
]


class TestCommittedFiles:
    @pytest.mark.parametrize(("path", "text"), [pytest.param(*item, id=item[0].name) for item in rendered().items()])
    def test_committed_file_matches_the_models(self, path, text):
        relative = path.relative_to(ROOT.parent)
        assert path.exists(), f"{relative} is missing; {REGENERATE}"
        assert path.read_text(encoding="utf-8") == text, f"{relative} is out of date; {REGENERATE}"

    def test_no_committed_schema_is_left_without_its_event(self):
        committed = {path for path in ROOT.rglob("*") if path.is_file()}
        orphans = sorted(str(path.relative_to(ROOT.parent)) for path in committed - set(rendered()))
        assert orphans == [], f"no model generates {orphans}; remove them or {REGENERATE}"


class TestEventSchemas:
    @pytest.mark.parametrize("event", EVENT_CLASSES)
    def test_id_is_the_event_schema_id(self, event: type[Event]):
        assert event_schema(event)["$id"] == event.schema_id()

    @pytest.mark.parametrize("event", EVENT_CLASSES)
    def test_is_valid_json_schema_2020_12(self, event: type[Event]):
        schema = event_schema(event)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)

    @pytest.mark.parametrize("event", EVENT_CLASSES)
    def test_committed_schema_is_the_generated_one(self, event: type[Event]):
        committed = json.loads((ROOT / schema_file(event)).read_text(encoding="utf-8"))
        assert committed == event_schema(event), REGENERATE

    @pytest.mark.parametrize("data", EVENT_EXAMPLES)
    def test_event_as_sent_validates_against_its_schema(self, data: Event):
        validator = Draft202012Validator(event_schema(type(data)))
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_as_sent(data))]
        assert errors == []

    def test_schema_refuses_an_event_the_model_refuses(self):
        sent = _as_sent(declaration_submitted())
        sent["declaration"]["goods_items"][0]["origin_country"] = "nl"
        validator = Draft202012Validator(event_schema(type(declaration_submitted())))
        assert not validator.is_valid(sent)


def _as_sent(data: Event) -> Any:
    return json.loads(data.model_dump_json())


@pytest.mark.parametrize(
    ("model", "example"),
    [(Declaration, DECLARATION_EXAMPLE), (Certificate, CERTIFICATE_EXAMPLE)],
    ids=["Declaration", "Certificate"],
)
def test_api_examples_are_valid(model: type[BaseModel], example: dict[str, Any]):
    model.model_validate(example)
