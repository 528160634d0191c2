"""The customs declaration as the contract carries it: a WCO Data Model shaped subset."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.contract.codes import (
    CommodityCode,
    CountryCode,
    CurrencyCode,
    PositiveDecimal,
    Reference,
    ShortText,
    TraderId,
    UnitCode,
)


class ContractModel(BaseModel):
    """Base of every contract model: unknown fields are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DeclarationType(StrEnum):
    """WCO DM declaration type (D.E. 1/1)."""

    IMPORT = "IM"
    EXPORT = "EX"
    TRANSIT = "CO"


class Address(ContractModel):
    line: ShortText | None = None
    city: ShortText | None = None
    postcode: Reference | None = None
    country_code: CountryCode


class Party(ContractModel):
    """A declarant, importer or exporter: its identifier when it has one, else name and address."""

    id: TraderId | None = None
    name: ShortText | None = None
    address: Address | None = None

    @model_validator(mode="after")
    def _identified(self) -> "Party":
        if self.id is None and (self.name is None or self.address is None):
            raise ValueError("a party needs an id, or else a name and an address")
        return self


class Amount(ContractModel):
    value: PositiveDecimal
    currency: CurrencyCode


class Quantity(ContractModel):
    value: PositiveDecimal
    unit: UnitCode


class ReferencedDocument(ContractModel):
    """A document the declaration refers to (WCO AdditionalDocument): N851 is a phytosanitary certificate."""

    category_code: str = Field(pattern=r"^[A-Z0-9]$", examples=["N"])
    type_code: str = Field(pattern=r"^[A-Z0-9]{3}$", examples=["851"])
    id: Reference

    @property
    def code(self) -> str:
        return f"{self.category_code}{self.type_code}"


PHYTOSANITARY_CERTIFICATE = "N851"


class GoodsItem(ContractModel):
    sequence: int = Field(ge=1, le=999)
    commodity_code: CommodityCode
    description: ShortText
    origin_country: CountryCode
    quantity: Quantity
    value: Amount
    documents: list[ReferencedDocument] = Field(default_factory=list, max_length=99)

    @property
    def hs6(self) -> str:
        return self.commodity_code[:6]


class Declaration(ContractModel):
    """What a trader declares: parties, goods items and the documents they rely on."""

    lrn: Reference = Field(description="The trader's own reference (LRN), unique per declarant")
    type: DeclarationType = DeclarationType.IMPORT
    declarant: Party
    importer: Party
    exporter: Party
    export_country: CountryCode | None = None
    point_of_entry: Reference | None = Field(default=None, description="UN/LOCODE of the place of entry")
    goods_items: list[GoodsItem] = Field(min_length=1, max_length=999)
    documents: list[ReferencedDocument] = Field(default_factory=list, max_length=99)

    @model_validator(mode="after")
    def _sequences_unique(self) -> "Declaration":
        seen = [item.sequence for item in self.goods_items]
        if len(seen) != len(set(seen)):
            raise ValueError("goods item sequence numbers must be unique")
        return self

    def referenced_documents(self, code: str) -> list[ReferencedDocument]:
        """Every document with this 4-character code, at header or item level."""
        found = [d for d in self.documents if d.code == code]
        found += [d for item in self.goods_items for d in item.documents if d.code == code]
        return found
