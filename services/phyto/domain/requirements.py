"""Import requirements (data): which commodities are regulated plant products, by ISPM 32 category."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class RegulatedCommodity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(pattern=r"^[0-9]{2,10}$")
    category: str = Field(pattern=r"^[a-z_]{2,40}$")


class ImportRequirements(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    effective_from: date
    regulated: tuple[RegulatedCommodity, ...]

    def category_of(self, commodity_code: str) -> str | None:
        """The category of the longest matching prefix, or None when the commodity is not regulated."""
        matches = [entry for entry in self.regulated if commodity_code.startswith(entry.prefix)]
        return max(matches, key=lambda entry: len(entry.prefix)).category if matches else None
