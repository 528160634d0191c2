"""What every reference data set has: a version and the date from which it applies; entries may be dated too."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ReferenceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
