"""What every reference data set has: a version and the date from which it applies; entries may be dated too."""

from datetime import date
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

K = TypeVar("K")
V = TypeVar("V")

REMEMBERED_ANSWERS = 100_000
"""Answers a data set remembers for each kind of look-up: past that it starts again (a day brings a few thousand
commodity codes and currencies at most)."""


class Remembered(dict[K, V]):
    """Answers worked out from a data set, which does not change, by what was asked: declarations ask the same
    again and again (the same codes, currencies and day)."""

    def keep(self, key: K, answer: V) -> V:
        if len(self) >= REMEMBERED_ANSWERS:
            self.clear()
        self[key] = answer
        return answer


class ReferenceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __copy__(self) -> Self:
        return _without_worked_out(super().__copy__())

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        return _without_worked_out(super().__deepcopy__(memo))


M = TypeVar("M", bound=ReferenceModel)


def _without_worked_out(copied: M) -> M:
    """A copy without what the original's cached properties worked out (indexes, remembered answers): pydantic
    copies them with the fields, and `model_copy` may give the copy other fields."""
    for name in copied.__dict__.keys() - type(copied).model_fields.keys():
        del copied.__dict__[name]
    return copied


class ReferenceData(ReferenceModel):
    """A versioned data set; a decision records the version of each set it used."""

    version: str = Field(min_length=1, max_length=64)
    effective_from: date


class Validity(ReferenceModel):
    """An entry applies from `valid_from` up to and including `valid_to`; no end means until replaced."""

    valid_from: date
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Validity":
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def overlaps(self, other: "Validity") -> bool:
        return self.valid_from <= (other.valid_to or date.max) and other.valid_from <= (self.valid_to or date.max)

    def applies_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)
