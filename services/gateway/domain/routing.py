"""The routing table: which agencies must act on a declaration. Data, not code."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.contract.codes import AgencyCode, CountryCode
from services.contract.declaration import Declaration, DeclarationType


class AgencyRoute(BaseModel):
    """An agency is required when `always`, or when any of its conditions matches the declaration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: AgencyCode
    always: bool = False
    commodity_prefixes: list[str] = Field(default_factory=list)
    origin_countries: list[CountryCode] = Field(default_factory=list)
    document_codes: list[str] = Field(default_factory=list)
    declaration_types: list[DeclarationType] = Field(default_factory=list)

    def applies_to(self, declaration: Declaration) -> bool:
        if self.declaration_types and declaration.type not in self.declaration_types:
            return False
        if self.always:
            return True
        items = declaration.goods_items
        return (
            any(
                item.commodity_code.startswith(tuple(self.commodity_prefixes))
                for item in items
                if self.commodity_prefixes
            )
            or any(item.origin_country in self.origin_countries for item in items)
            or any(declaration.referenced_documents(code) for code in self.document_codes)
        )


class RoutingTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    effective_from: date
    agencies: list[AgencyRoute] = Field(min_length=1)

    def required_agencies(self, declaration: Declaration) -> list[str]:
        """The agencies that must answer, in table order, each once."""
        required = [route.agency for route in self.agencies if route.applies_to(declaration)]
        return list(dict.fromkeys(required))

    @property
    def agency_codes(self) -> frozenset[str]:
        """Every agency the table knows: those an officer may refer goods to."""
        return frozenset(route.agency for route in self.agencies)
