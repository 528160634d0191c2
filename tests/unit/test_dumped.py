"""A value's JSON made once (services/contract/dumped.py): what a model holding it writes is byte for byte what
pydantic writes, a changed copy is dumped afresh, and nothing is kept once the value is gone."""

import gc
import weakref
from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, RootModel, computed_field, field_serializer

from services.contract.declaration import Declaration
from services.contract.dumped import dumped, json_of, json_text
from services.gateway.entrypoints.schemas import CertificateRead
from tests.unit.builders import certificate, certificate_received, declaration, declaration_submitted

# Text a declaration's free text may hold: no control characters (the contract refuses them), anything else.
free_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40)


@given(free_text)
def test_an_event_holding_a_dumped_declaration_is_written_as_pydantic_writes_it(description: str) -> None:
    item = declaration().goods_items[0].model_copy(update={"description": description})
    event = declaration_submitted(declaration=declaration(item))
    expected = event.model_dump_json().encode()
    dumped(event.declaration)
    assert json_of(event) == expected


@given(free_text)
def test_a_models_json_to_store_is_pydantics_and_reads_back_as_its_values(description: str) -> None:
    item = declaration().goods_items[0].model_copy(update={"description": description})
    held = declaration(item)
    assert json_text(held).text == held.model_dump_json().encode()
    assert orjson.loads(json_text(held).text) == held.model_dump(mode="json")
    assert dumped(held).text == json_text(held).text  # the dump made once writes the same bytes


def test_a_view_holding_a_dumped_certificate_is_written_as_pydantic_writes_it() -> None:
    held = certificate()
    view = CertificateRead(
        id="01JC0000000000000000000000",
        issuing_country="NL",
        number="X1",
        received_at=datetime.now(UTC),
        certificate=held,
    )
    dumped(held)
    assert json_of(view) == view.model_dump_json().encode()
    assert json_of(certificate_received()) == certificate_received().model_dump_json().encode()  # nothing dumped


def test_a_dump_is_made_once_and_a_changed_copy_is_dumped_afresh() -> None:
    original = declaration()
    assert dumped(original) is dumped(original)
    changed = original.model_copy(update={"lrn": "LRN-CHANGED"})
    assert dumped(changed).values["lrn"] == "LRN-CHANGED"
    assert b'"LRN-CHANGED"' in json_of(declaration_submitted(declaration=changed))
    assert dumped(original).values["lrn"] != "LRN-CHANGED"


def test_nothing_is_kept_once_a_dumped_value_is_gone() -> None:
    held = declaration()
    gone = weakref.ref(held)
    dumped(held)
    del held
    gc.collect()
    assert gone() is None
    for n in range(50):  # a new value in the place of one gone has a dump of its own
        fresh = Declaration.model_validate({**declaration().model_dump(), "lrn": f"LRN-{n}"})
        assert dumped(fresh).values["lrn"] == f"LRN-{n}"


class _Renamed(BaseModel):
    declaration: Declaration
    note: str = Field(serialization_alias="Note")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def items(self) -> int:
        return len(self.declaration.goods_items)


def test_a_model_with_computed_or_renamed_fields_is_written_by_pydantic() -> None:
    held = declaration()
    dumped(held)
    renamed = _Renamed(declaration=held, note="n")
    assert json_of(renamed) == renamed.model_dump_json().encode()


class _Serialized(BaseModel):
    declaration: Declaration

    @field_serializer("declaration")
    def _short(self, declaration: Declaration) -> str:
        return declaration.lrn


class _Base(BaseModel):
    lrn: str


class _Wider(_Base):
    note: str


class _HoldsBase(BaseModel):
    held: _Base


def test_a_model_with_serializers_of_its_own_a_root_model_and_a_subclass_are_written_by_pydantic() -> None:
    held = declaration()
    dumped(held)
    serialized = _Serialized(declaration=held)
    assert json_of(serialized) == serialized.model_dump_json().encode()
    root = RootModel[Declaration](held)
    assert json_of(root) == root.model_dump_json().encode()
    wider = _Wider(lrn="L", note="n")  # pydantic writes it as the declared class, without the note
    dumped(wider)
    holder = _HoldsBase(held=wider)
    assert json_of(holder) == holder.model_dump_json().encode() == b'{"held":{"lrn":"L"}}'
