"""A value's JSON made once and used wherever it goes: a declaration lodged is hashed, stored, sent in its event and
shown in the answer, and pydantic walking a declaration of 20 goods items took some 50 µs each time."""

import functools
import weakref
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Dumped:
    """A model as `model_dump(mode="json")` gives it (`values`: not to be changed), and its JSON as
    `model_dump_json()` writes it (`text`)."""

    values: dict[str, Any] = field(repr=False)
    text: bytes = field(repr=False)


_made: dict[int, Dumped] = {}
"""By the `id` of the model, while it lives: a copy of it (`model_copy`, with changes or not) is another model."""


def dumped(model: BaseModel) -> Dumped:
    """`model` dumped, made at the first call for it. Its JSON is orjson's of the values: the same bytes as
    pydantic's for values of text, integers, booleans and null (floats may be written otherwise: no model dumped
    so holds any)."""
    made = _made.get(id(model))
    if made is None:
        values = model.model_dump(mode="json")
        made = _made[id(model)] = Dumped(values, orjson.dumps(values))
        weakref.finalize(model, _made.pop, id(model), None)
    return made


def json_of(model: BaseModel) -> bytes:
    """`model.model_dump_json()`, as bytes, with the JSON of each field whose value was `dumped` already taken from
    there (pydantic serializes only the other fields)."""
    made = {
        name: _made[id(value)].text
        for name, value in model.__dict__.items()
        if isinstance(value, BaseModel) and id(value) in _made
    }
    names = _names_in_order(type(model))
    if not made or names is None:
        return model.model_dump_json().encode()
    rest = model.model_dump(mode="json", exclude=set(made))
    return orjson.dumps({name: orjson.Fragment(made[name]) if name in made else rest[name] for name in names})


@functools.cache
def _names_in_order(cls: type[BaseModel]) -> tuple[str, ...] | None:
    """The keys of `model_dump` for a model of `cls`, in order, when they are its fields' names; None when its
    JSON has other keys (aliases, computed fields, extra fields) or leaves a field out."""
    config = cls.model_config
    if cls.model_computed_fields or config.get("serialize_by_alias") or config.get("extra") == "allow":
        return None
    if any(field.serialization_alias or field.exclude or field.exclude_if for field in cls.model_fields.values()):
        return None
    return tuple(cls.model_fields)
