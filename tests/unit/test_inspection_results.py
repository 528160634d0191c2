"""Plant-health inspection results in the contract (InspectionRecorded, 1.4) and in the officer's request body:
which combinations of result, action, pests and treatment hold, and which field a bad one is blamed on."""

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from services.contract.events import MAX_PESTS, InspectionRecorded, InspectionResult, PlantHealthAction
from services.contract.schema_export import event_schema
from services.gateway.entrypoints.routes.declarations import INSPECTION_EXAMPLES
from services.gateway.entrypoints.schemas import InspectionCreate, InspectionRead

RELEASE, SEIZE, REFER = InspectionResult
NONE, TREATMENT_ORDERED, DESTROYED, RE_EXPORTED = PlantHealthAction
PESTS = ["Thrips palmi", "Bactrocera dorsalis"]
TREATMENT = "Fumigation with methyl bromide, 48 g/m3 for 24 h"


def blamed_field(
    result: InspectionResult, action: PlantHealthAction | None, pests: bool, treatment: bool
) -> str | None:
    """The rules as the field descriptions state them: None when the combination holds, else the field blamed."""
    if action not in (None, NONE) and result is not SEIZE:
        return "action"  # every action but none goes with seize
    if action is TREATMENT_ORDERED:
        return None if treatment else "treatment"  # the treatment ordered is required
    if result is RELEASE:
        return "treatment" if pests and not treatment else None  # no release with pests unless treated
    return "treatment" if treatment else None  # nothing else carries a treatment


COMBINATIONS = [
    pytest.param(
        result,
        action,
        pests,
        treatment,
        id=f"{result}-{action}-{'pests' if pests else 'no pests'}-{'treatment' if treatment else 'no treatment'}",
    )
    for result, action, pests, treatment in itertools.product(
        InspectionResult, [None, *PlantHealthAction], [False, True], [False, True]
    )
]


def fields(result: InspectionResult, action: PlantHealthAction | None, pests: bool, treatment: bool) -> dict[str, Any]:
    return {
        "result": result.value,
        **({"referred_to": "customs"} if result is REFER else {}),
        **({"action": action.value} if action is not None else {}),
        **({"pests_found": PESTS} if pests else {}),
        **({"treatment": TREATMENT} if treatment else {}),
    }


def recorded(**changes: Any) -> dict[str, Any]:
    return {
        "inspection_id": "01JDQ6B4M5N6P7Q8R9S0T1V2W3",
        "agency": "phyto",
        "declaration_id": "01JDQ5ZX0K8V2Y7QH6W1M3N4P5",
        "declaration_version": 1,
        "officer": "Plant health officer Jansen",
        "recorded_at": datetime(2026, 11, 23, 10, tzinfo=UTC),
    } | changes


def error_fields(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return [".".join(map(str, error["loc"])) for error in raised.value.errors()]


@pytest.mark.parametrize(("result", "action", "pests", "treatment"), COMBINATIONS)
def test_every_combination_holds_or_is_refused_naming_the_field(
    result: InspectionResult, action: PlantHealthAction | None, pests: bool, treatment: bool
) -> None:
    body = fields(result, action, pests, treatment)
    blamed = blamed_field(result, action, pests, treatment)
    for model, data in ((InspectionRecorded, recorded(**body)), (InspectionCreate, body)):
        if blamed is None:
            model.model_validate(data)
        else:
            assert error_fields(model, data) == [blamed], model.__name__


def test_an_inspection_from_an_older_producer_has_no_plant_health_results() -> None:
    event = InspectionRecorded.model_validate(recorded(result="seize", findings="counterfeit labels"))
    assert (event.pests_found, event.action, event.treatment) == ([], None, None)


def test_an_older_consumer_reads_a_treatment_order_as_a_seizure() -> None:
    """A consumer built on contract 1.3 ignores the new fields and reads `result`: it never releases the goods."""
    sent = InspectionRecorded.model_validate(
        recorded(result="seize", action="treatment_ordered", treatment=TREATMENT, pests_found=PESTS)
    ).model_dump(mode="json")
    assert sent["result"] == "seize"


def test_a_treatment_order_explains_what_is_missing() -> None:
    with pytest.raises(ValidationError, match="needs `treatment`: the treatment ordered"):
        InspectionCreate.model_validate({"result": "seize", "action": "treatment_ordered"})


def test_a_destruction_on_a_release_says_which_result_it_goes_with() -> None:
    with pytest.raises(ValidationError, match="action `destroyed` goes with result `seize`"):
        InspectionCreate.model_validate({"result": "release", "action": "destroyed"})


@pytest.mark.parametrize(
    ("pests", "location"),
    [
        (["thrips palmi"], "pests_found.0"),  # the genus is capitalised
        (["Thrips  palmi"], "pests_found.0"),
        (["Tp"], "pests_found.0"),
        (["X" + "y" * 128], "pests_found.0"),
        (["Thrips palmi", "Thrips palmi"], "pests_found"),
        ([f"Pestis number{n}" for n in range(MAX_PESTS + 1)], "pests_found"),
    ],
    ids=["lower case genus", "double space", "too short", "too long", "twice", "too many"],
)
def test_pest_names_are_bounded_scientific_names(pests: list[str], location: str) -> None:
    assert error_fields(InspectionCreate, {"result": "seize", "pests_found": pests}) == [location]


@pytest.mark.parametrize(
    "name",
    ["Thrips palmi", "Xylella fastidiosa subsp. pauca", "Tomato brown rugose fruit virus", "Candidatus Liberibacter"],
)
def test_real_pest_names_are_accepted(name: str) -> None:
    assert InspectionCreate.model_validate({"result": "seize", "pests_found": [name]}).pests_found == [name]


def test_a_customs_body_is_unchanged() -> None:
    """Customs officers send what they sent before; the plant-health fields stay empty."""
    body = InspectionCreate.model_validate({"result": "release", "findings": "origin documents in order"})
    assert (body.pests_found, body.action, body.treatment) == ([], None, None)


@pytest.mark.parametrize("name", list(INSPECTION_EXAMPLES))
def test_every_openapi_example_is_a_valid_request(name: str) -> None:
    InspectionCreate.model_validate(INSPECTION_EXAMPLES[name]["value"])


def test_inspections_recorded_before_plant_health_results_read_with_no_pests() -> None:
    row = recorded(id="01JDQ6B4M5N6P7Q8R9S0T1V2W3", result="release", findings=None, referred_to=None, pests_found=None)
    assert InspectionRead.model_validate(row).pests_found == []


def test_a_plant_health_result_as_sent_validates_against_the_committed_schema() -> None:
    event = InspectionRecorded.model_validate(
        recorded(result="seize", action="treatment_ordered", treatment=TREATMENT, pests_found=PESTS)
    )
    validator = Draft202012Validator(event_schema(InspectionRecorded))
    assert [error.message for error in validator.iter_errors(json.loads(event.model_dump_json()))] == []
