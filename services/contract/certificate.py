"""The electronic phytosanitary certificate (ePhyto) as the contract carries it: parsed business fields."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from services.contract.codes import CommodityCode, CountryCode, Reference, ShortText
from services.contract.declaration import Address, ContractModel, Quantity


class CertificateType(StrEnum):
    """UN/CEFACT SPS document type code."""

    PHYTOSANITARY = "851"
    RE_EXPORT = "657"


class CertificateStatus(StrEnum):
    """UN/CEFACT SPS status code."""

    ISSUED = "70"
    WITHDRAWN = "40"


class SpsParty(ContractModel):
    name: ShortText
    address: Address | None = None


class CertificateLineItem(ContractModel):
    sequence: int = Field(ge=0, le=9999)
    scientific_name: ShortText = Field(description="Botanical name of the plant or plant product")
    description: ShortText | None = None
    commodity_code: CommodityCode | None = Field(default=None, description="HS classification, when given")
    origin_countries: list[CountryCode] = Field(min_length=1, max_length=20)
    net_quantity: Quantity | None = None


class Certificate(ContractModel):
    """An ePhyto: the certificate number is unique per issuing country."""

    number: Reference
    type: CertificateType = CertificateType.PHYTOSANITARY
    status: CertificateStatus = CertificateStatus.ISSUED
    issuing_country: CountryCode
    importing_country: CountryCode
    issued_at: datetime
    consignor: SpsParty
    consignee: SpsParty
    point_of_entry: Reference | None = None
    line_items: list[CertificateLineItem] = Field(min_length=1, max_length=999)
    hub_delivery_number: Reference | None = None
