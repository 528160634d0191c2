"""A value's JSON made once and used wherever it goes: a declaration lodged is hashed, stored, sent in its event and
shown in the answer, and pydantic walking a declaration of 20 goods items took some 50 µs each time."""

import functools
import typing
import weakref
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, RootModel


@dataclass(frozen=True, slots=True)
class JsonText:
    """A model's JSON as `model_dump_json()` writes it: a JSON column stores it as it is, and reads it back as the
    model's `model_dump(mode="json")`. Storing a model so costs pydantic's serializer alone, where dumping it to
    values and those to JSON cost about twice that (declarations of a few goods items: 17 against 30 µs)."""

    text: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Dumped(JsonText):
    """A model's JSON (`text`), and the model as `model_dump(mode="json")` gives it (`values`: not to be
    changed)."""

    values: dict[str, Any] = field(repr=False)


_made: dict[int, Dumped] = {}
"""By the `id` of the model, while it lives: a copy of it (`model_copy`, with changes or not) is another model."""


def dumped(model: BaseModel) -> Dumped:
    """`model`, a frozen one (the contract's are), dumped at the first call for it. Its JSON is orjson's of the
    values: the same bytes as pydantic's for values of text, integers, booleans and null (floats may be written
    otherwise: no model dumped so holds any)."""
    made = _made.get(id(model))
    if made is None:
        values = model.model_dump(mode="json")
        weakref.finalize(model, _made.pop, id(model), None)  # first: a model that takes no weak reference is not kept
        made = _made[id(model)] = Dumped(orjson.dumps(values), values)
    return made


def json_text(model: BaseModel) -> JsonText:
    """`model`'s JSON to store (see `json_of`)."""
    return JsonText(json_of(model))


def json_of(model: BaseModel) -> bytes:
    """`model.model_dump_json()`, as bytes, with the JSON of each field whose value was `dumped` already taken from
    there (pydantic serializes only the other fields)."""
    shape = _shape(type(model))
    if shape is None:
        return model.__pydantic_serializer__.to_json(model)
    names, held = shape
    made = {}
    for name, kind in held.items():
        value = model.__dict__[name]
        if type(value) is kind and id(value) in _made:
            made[name] = _made[id(value)].text
    if not made:
        return model.__pydantic_serializer__.to_json(model)  # model_dump_json's bytes, before it decodes them
    rest = model.model_dump(mode="json", exclude=set(made))
    return orjson.dumps({name: orjson.Fragment(made[name]) if name in made else rest[name] for name in names})


@functools.cache
def _shape(cls: type[BaseModel]) -> tuple[tuple[str, ...], dict[str, type[BaseModel]]] | None:
    """The keys of `model_dump` for a model of `cls`, in order, and the fields holding a model (its class, or its
    class or None) whose JSON may be taken as dumped: that of a value of exactly that class (pydantic writes a
    subclass's value as the declared class). None when the JSON of `cls` is not its fields' own: aliases, computed
    or extra fields, fields left out, serializers of its own, a root model."""
    config = cls.model_config
    decorators = cls.__pydantic_decorators__
    if (
        cls.model_computed_fields
        or config.get("serialize_by_alias")
        or config.get("extra") == "allow"
        or decorators.field_serializers
        or decorators.model_serializers
        or issubclass(cls, RootModel)
    ):
        return None
    fields = cls.model_fields
    if any(field.serialization_alias or field.exclude or field.exclude_if for field in fields.values()):
        return None
    held = {name: kind for name, field in fields.items() if (kind := _model_class(field.annotation)) is not None}
    return tuple(fields), held


def _model_class(annotation: Any) -> type[BaseModel] | None:
    """The model class of an annotation that is one, or one or None."""
    options = [option for option in typing.get_args(annotation) if option is not type(None)] or [annotation]
    if len(options) == 1 and isinstance(options[0], type) and issubclass(options[0], BaseModel):
        return options[0]
    return None
