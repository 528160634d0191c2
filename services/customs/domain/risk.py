"""The risk profile (data) and its evaluation against a declaration (pure)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.contract.codes import CountryCode
from services.contract.declaration import Declaration, GoodsItem
from services.customs.domain.lanes import Lane


class RiskRule(BaseModel):
    """Matches a goods item when every condition it states holds (an absent condition always holds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z0-9-]{2,40}$")
    lane: Lane
    reason: str = Field(min_length=1)
    commodity_prefixes: tuple[str, ...] = ()
    origin_countries: tuple[CountryCode, ...] = ()
    min_item_value: Decimal | None = None

    def matches(self, item: GoodsItem) -> bool:
        return (
            (not self.commodity_prefixes or item.commodity_code.startswith(self.commodity_prefixes))
            and (not self.origin_countries or item.origin_country in self.origin_countries)
            and (self.min_item_value is None or item.value.value > self.min_item_value)
        )


class RiskProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    effective_from: date
    default_lane: Lane = Lane.GREEN
    rules: tuple[RiskRule, ...] = ()


@dataclass(frozen=True)
class Hit:
    rule_id: str
    lane: Lane
    reason: str
    goods_item: int


@dataclass(frozen=True)
class Assessment:
    lane: Lane
    hits: tuple[Hit, ...]


def assess(profile: RiskProfile, declaration: Declaration) -> Assessment:
    """The most severe of the default lane and the matching rules' lanes, with every hit.

    The default lane is a floor: an administration that sets it to yellow checks every declaration.
    """
    hits = tuple(
        Hit(rule.id, rule.lane, rule.reason, item.sequence)
        for item in declaration.goods_items
        for rule in profile.rules
        if rule.matches(item)
    )
    lane = max([profile.default_lane, *(hit.lane for hit in hits)], key=lambda lane: lane.severity)
    return Assessment(lane, hits)
