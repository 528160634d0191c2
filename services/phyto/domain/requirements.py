"""Import requirements (data): regulated commodities by ISPM 32 category, pests of concern and the measures that
answer them, prohibited combinations, inspection rates, points of entry, and the limits certificates are held to."""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Prefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,10}$")]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Locode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")]
Rate = Annotated[Decimal, Field(ge=0, le=1)]
ANY_ORIGIN = "*"
CODES_REMEMBERED = 100_000
"""Commodity codes whose category `category_of` keeps: more than a tariff has (some 20,000 at 10 digits)."""


class RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegulatedCommodity(RulesModel):
    prefix: Prefix
    category: Category


class Origins(RulesModel):
    """Countries of origin a rule applies to: listed ones, or every one (`*`) but the exceptions."""

    origins: tuple[Annotated[str, StringConstraints(pattern=r"^([A-Z]{2}|\*)$")], ...] = Field(min_length=1)
    except_origins: tuple[Country, ...] = ()

    def covers(self, origin: str) -> bool:
        if origin in self.except_origins:
            return False
        return ANY_ORIGIN in self.origins or origin in self.origins


class AdditionalDeclaration(RulesModel):
    """An additional declaration a certificate must carry: a note of one of these subjects stating one of these
    texts (compared case-insensitively, whitespace collapsed)."""

    subjects: tuple[str, ...] = ("ADEDL", "ADTLIL", "ADAOEDL", "ADAOTLIL")
    statements: tuple[str, ...] = Field(min_length=1)


class TreatmentRequirement(RulesModel):
    """A treatment a certificate line must record: its kind (type code, or a name in the TTFT characteristic)
    and the characteristics that make it effective."""

    name: str = Field(min_length=1, description="What the reason calls it: vapour heat, cold treatment...")
    type_codes: tuple[str, ...] = ()
    type_names: tuple[str, ...] = ()
    min_temperature_celsius: Decimal | None = None
    max_temperature_celsius: Decimal | None = None
    min_duration_hours: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _recognisable(self) -> Self:
        if not self.type_codes and not self.type_names:
            raise ValueError(f"treatment {self.name!r} needs type_codes or type_names to be recognised")
        return self


class Measure(RulesModel):
    """One way to answer a pest: an additional declaration, a treatment, or both."""

    additional_declaration: AdditionalDeclaration | None = None
    treatment: TreatmentRequirement | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.additional_declaration is None and self.treatment is None:
            raise ValueError("a measure needs an additional_declaration, a treatment or both")
        return self


class PestOfConcern(Origins):
    """A regulated pest on commodities from some origins, and the measures any one of which answers it."""

    pest: str = Field(min_length=3, description="Scientific name of the pest")
    prefixes: tuple[Prefix, ...] = Field(min_length=1)
    measures: tuple[Measure, ...] = Field(min_length=1)


class ProhibitedCombination(Origins):
    prefix: Prefix
    why: str = Field(min_length=3)


class HighRiskPair(Origins):
    prefix: Prefix
    rate: Rate


class Inspections(RulesModel):
    """Share of consignments drawn for a physical check: the base rate, higher for high-risk origin and commodity
    pairs (the highest rate of any item counts)."""

    base_rate: Rate
    high_risk: tuple[HighRiskPair, ...] = ()


class UnitKind(StrEnum):
    MASS = "mass"
    VOLUME = "volume"
    COUNT = "count"


class QuantityUnit(RulesModel):
    """A UN/ECE Recommendation 20 unit: what it measures and its size in the kind's base unit (KGM, MTQ, item)."""

    kind: UnitKind
    factor: Decimal = Field(gt=0)


class CertificateLimits(RulesModel):
    max_age_days: int | None = Field(
        default=None, ge=0, description="Days a certificate may be issued before the consignment is lodged"
    )
    signatory_required: bool = True
    quantity_tolerance: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)


class ImportRequirements(RulesModel):
    version: str
    effective_from: date
    regulated: tuple[RegulatedCommodity, ...]
    nppo_countries: frozenset[Country] = frozenset()
    certificate: CertificateLimits = CertificateLimits()
    quantity_units: dict[str, QuantityUnit] = Field(default_factory=dict)
    pests: tuple[PestOfConcern, ...] = ()
    prohibited: tuple[ProhibitedCombination, ...] = ()
    inspections: Inspections = Inspections(base_rate=Decimal(0))
    points_of_entry: dict[Category, tuple[Locode, ...]] = Field(
        default_factory=dict, description="Permitted points of entry by category; a category not listed: any"
    )

    @cached_property
    def categories_by_prefix(self) -> dict[str, str]:
        """The regulated prefixes and their categories (the first entry of a prefix listed twice)."""
        found: dict[str, str] = {}
        for entry in self.regulated:
            found.setdefault(entry.prefix, entry.category)
        return found

    def category_of(self, commodity_code: str) -> str | None:
        """The category of the longest matching prefix, or None when the commodity is not regulated. Looks up each
        prefix of the code (at most 10) rather than scanning every regulated entry, once for each code: an
        assessment asks for every item more than once (the codes kept are the tariff's, and at most
        CODES_REMEMBERED)."""
        known = self._categories_by_code
        if commodity_code in known:
            return known[commodity_code]
        by_prefix = self.categories_by_prefix
        category = next(
            (
                found
                for length in range(len(commodity_code), 0, -1)
                if (found := by_prefix.get(commodity_code[:length])) is not None
            ),
            None,
        )
        if len(known) >= CODES_REMEMBERED:
            known.clear()
        known[commodity_code] = category
        return category

    @cached_property
    def _categories_by_code(self) -> dict[str, str | None]:
        return {}

    def pests_of_concern(self, origin: str, commodity_code: str) -> list[PestOfConcern]:
        return [
            pest
            for pest in self.pests
            if pest.covers(origin) and any(commodity_code.startswith(prefix) for prefix in pest.prefixes)
        ]

    def prohibition(self, origin: str, commodity_code: str) -> ProhibitedCombination | None:
        return next(
            (rule for rule in self.prohibited if rule.covers(origin) and commodity_code.startswith(rule.prefix)), None
        )

    def inspection_rate(self, origin: str, commodity_code: str) -> tuple[Decimal, bool]:
        """The rate for one item and whether it is a high-risk pair."""
        rates = [
            pair.rate
            for pair in self.inspections.high_risk
            if pair.covers(origin) and commodity_code.startswith(pair.prefix)
        ]
        return (max(rates), True) if rates else (self.inspections.base_rate, False)
