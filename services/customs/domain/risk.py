"""The risk profile (data): rules, valuation bands, random selection, AEO and mutual recognition benefits.

A rule matches a goods item when every condition it states holds. Evaluating a profile is in risk_engine.py;
`RiskRule.matches` here is the plain reading of a rule that the compiled engine must agree with.
"""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from services.contract.codes import CountryCode, TraderId
from services.customs.domain.facts import DeclarationFacts, ItemFacts
from services.customs.domain.lanes import Lane
from services.customs.domain.reference import ReferenceModel
from services.customs.domain.traders import AeoProgramme

Rate = Decimal
CodePrefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,10}$")]
DocumentCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4}$")]


class Benefit(StrEnum):
    """What AEO status or a mutual recognition arrangement earns a declaration."""

    LANE_RELIEF = "lane_relief"
    """Each rule that allows it sends the declaration one lane lighter (red to yellow, yellow to green)."""
    FEWER_RANDOM_CHECKS = "fewer_random_checks"
    """Random selection rates are multiplied by the profile's AEO factor."""
    PRIORITY = "priority"
    """Controls, when there are any, are done first."""


class ValuationBand(ReferenceModel):
    """The expected customs value per kilogram of net mass for an HS6 code, from some origins or from any."""

    hs6: str = Field(pattern=r"^[0-9]{6}$")
    origin_countries: tuple[CountryCode, ...] = Field(default=(), description="Empty: every origin not listed")
    low: Decimal = Field(ge=0)
    high: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "ValuationBand":
        if self.low >= self.high:
            raise ValueError(f"band for {self.hs6}: low {self.low} must be below high {self.high}")
        return self

    def outside(self, unit_value: Decimal) -> bool:
        return unit_value < self.low or unit_value > self.high

    def describe(self) -> str:
        return f"{self.low}-{self.high} per kg for {self.hs6}"


class RiskRule(ReferenceModel):
    """Matches a goods item when every condition it states holds; it must state at least one."""

    id: str = Field(pattern=r"^[A-Z0-9-]{2,40}$")
    lane: Lane = Lane.RED
    refuse: bool = Field(default=False, description="Prohibited goods: refuse the declaration outright")
    reason: str = Field(min_length=1, max_length=300)
    aeo_relief: bool = Field(default=True, description="Whether lane relief (AEO, mutual recognition) applies")
    commodity_prefixes: tuple[CodePrefix, ...] = Field(default=(), description="HS or tariff code prefixes")
    origin_countries: tuple[CountryCode, ...] = ()
    traders: tuple[TraderId, ...] = Field(default=(), description="Any party (declarant, importer, exporter)")
    min_item_value: Decimal | None = Field(default=None, ge=0, description="Customs value in national currency")
    min_net_mass_kg: Decimal | None = Field(default=None, ge=0)
    min_gross_mass_kg: Decimal | None = Field(default=None, ge=0)
    watch_list: str | None = Field(default=None, description="A party is on this watch list")
    without_documents: tuple[DocumentCode, ...] = Field(
        default=(), description="None of these document codes (e.g. C400 CITES permit) is cited"
    )
    outside_valuation_band: bool = Field(default=False, description="Unit value outside its valuation band")

    @model_validator(mode="after")
    def _conditions(self) -> "RiskRule":
        if not self.kinds:
            raise ValueError(f"rule {self.id} states no condition: it would match every goods item")
        if self.refuse and self.lane is not Lane.RED:
            raise ValueError(f"rule {self.id} refuses goods: its lane is red (the goods stay under control)")
        if self.refuse and self.aeo_relief:
            raise ValueError(f"rule {self.id} refuses goods: set aeo_relief: false, no status relieves a refusal")
        return self

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of condition the rule states, e.g. ('commodity', 'value')."""
        stated = {
            "commodity": bool(self.commodity_prefixes),
            "origin": bool(self.origin_countries),
            "trader": bool(self.traders),
            "value": self.min_item_value is not None,
            "weight": self.min_net_mass_kg is not None or self.min_gross_mass_kg is not None,
            "watch_list": self.watch_list is not None,
            "document": bool(self.without_documents),
            "valuation": self.outside_valuation_band,
        }
        return tuple(kind for kind, present in stated.items() if present)

    def matches(self, item: ItemFacts, declaration: DeclarationFacts, band: ValuationBand | None) -> bool:
        return (
            (not self.commodity_prefixes or item.commodity_code.startswith(self.commodity_prefixes))
            and (not self.origin_countries or item.origin in self.origin_countries)
            and (not self.traders or any(trader in declaration.parties for trader in self.traders))
            and (self.min_item_value is None or item.value > self.min_item_value)
            and (self.min_net_mass_kg is None or (item.net_mass_kg or 0) > self.min_net_mass_kg)
            and (self.min_gross_mass_kg is None or (item.gross_mass_kg or 0) > self.min_gross_mass_kg)
            and (self.watch_list is None or self.watch_list in declaration.watch_lists)
            and (not self.without_documents or not any(code in item.documents for code in self.without_documents))
            and (
                not self.outside_valuation_band
                or (band is not None and item.unit_value is not None and band.outside(item.unit_value))
            )
        )


class RandomSelection(ReferenceModel):
    """Share of declarations chosen at random for each control lane, whatever the rules say."""

    red: Rate = Field(default=Decimal(0), ge=0, le=1)
    yellow: Rate = Field(default=Decimal(0), ge=0, le=1)
    blue: Rate = Field(default=Decimal(0), ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_all(self) -> "RandomSelection":
        if self.red + self.yellow + self.blue > 1:
            raise ValueError("random selection rates add up to more than 1")
        return self

    def lane_for(self, draw: float, factor: Decimal) -> Lane | None:
        """The lane a uniform draw in [0, 1) selects, the rates scaled by factor; most severe lanes first."""
        bound = Decimal(0)  # in Decimal, so that the stated rates are the exact bounds
        for lane, rate in ((Lane.RED, self.red), (Lane.YELLOW, self.yellow), (Lane.BLUE, self.blue)):
            bound += rate * factor
            if draw < bound:
                return lane
        return None


class AeoPolicy(ReferenceModel):
    benefits: dict[AeoProgramme, tuple[Benefit, ...]] = Field(default_factory=dict)
    random_rate_factor: Rate = Field(default=Decimal(1), ge=0, le=1)


class MutualRecognition(ReferenceModel):
    """An arrangement with a partner administration: its certified traders earn the benefits listed."""

    arrangement: str = Field(min_length=1, max_length=64)
    administration: CountryCode
    programmes: tuple[str, ...] = Field(min_length=1)
    benefits: tuple[Benefit, ...] = Field(min_length=1)


class RiskProfile(ReferenceModel):
    version: str = Field(min_length=1, max_length=64)
    effective_from: date
    default_lane: Lane = Lane.GREEN
    random_selection: RandomSelection = RandomSelection()
    aeo: AeoPolicy = AeoPolicy()
    mutual_recognition: tuple[MutualRecognition, ...] = ()
    valuation_bands: tuple[ValuationBand, ...] = ()
    rules: tuple[RiskRule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "RiskProfile":
        ids = [rule.id for rule in self.rules]
        duplicated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if duplicated:
            raise ValueError(f"rule ids must be unique: {', '.join(duplicated)} repeated")
        if any(rule.outside_valuation_band for rule in self.rules) and not self.valuation_bands:
            raise ValueError("a rule checks valuation bands but the profile has no valuation_bands")
        keys = [(band.hs6, origin) for band in self.valuation_bands for origin in band.origin_countries or ("",)]
        if len(keys) != len(set(keys)):
            raise ValueError("two valuation bands cover the same HS6 code and origin")
        return self

    def band_for(self, item: ItemFacts) -> ValuationBand | None:
        """The band of the item's HS6 code for its origin, else the one for any other origin."""
        fallback = None
        for band in self.valuation_bands:
            if band.hs6 == item.hs6:
                if item.origin in band.origin_countries:
                    return band
                if not band.origin_countries:
                    fallback = band
        return fallback

    def benefits_of(self, declaration: DeclarationFacts) -> frozenset[Benefit]:
        earned: set[Benefit] = set()
        if declaration.aeo is not None:
            earned.update(self.aeo.benefits.get(declaration.aeo, ()))
        partner = declaration.partner
        if partner is not None:
            for arrangement in self.mutual_recognition:
                if arrangement.administration == partner.administration and partner.programme in arrangement.programmes:
                    earned.update(arrangement.benefits)
        return frozenset(earned)
