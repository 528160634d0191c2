"""Constrained string types for the code lists the contract uses (ISO 3166, ISO 4217, HS...)."""

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    Field(description="ISO 3166-1 alpha-2 country code", examples=["NL"]),
]
CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 currency code", examples=["EUR"]),
]
CommodityCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{6}([0-9]{2}){0,2}$"),
    Field(
        description="Commodity code: HS6, the 8-digit combined nomenclature code, or 10 digits with TARIC",
        examples=["06029050"],
    ),
]
TraderId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}[A-Z0-9]{1,15}$"),
    Field(description="Trader identifier (EORI: country prefix and up to 15 characters)", examples=["GB123456789000"]),
]
AgencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$"),
    Field(description="Border agency code as listed in the gateway's routing table", examples=["customs", "phyto"]),
]
NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$"
"""Text may hold tabs and line breaks but no other control character (no NUL: PostgreSQL text cannot hold it)."""
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=512, strip_whitespace=True, pattern=NO_CONTROL_CHARACTERS)
]
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=70, strip_whitespace=True, pattern=NO_CONTROL_CHARACTERS)
]
UnitCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{2,3}$"),
    Field(description="UN/ECE Recommendation 20 unit code", examples=["KGM"]),
]
PositiveDecimal = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]

# WCO Data Model codes the declaration carries beyond the basic ones above. D.E. numbers are those of the
# EU Union Customs Code annex B, which the UK CDS samples annotate.
TaricCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{2}$"),
    Field(description="TARIC code: the 2 digits after the 8-digit commodity code (D.E. 6/15)", examples=["00"]),
]
AdditionalCommodityCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{4}$"),
    Field(description="TARIC or national additional code, 4 characters (D.E. 6/16, 6/17)", examples=["VATZ"]),
]
AdditionalDeclarationType = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]$"),
    Field(
        description="Additional declaration type (D.E. 1/2): A standard frontier, D standard pre-lodged, "
        "Y supplementary...",
        examples=["A"],
    ),
]
DocumentStatus = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    Field(
        description="Document status code (WCO LPCOExemptionCode, D.E. 2/3), e.g. AE attached, AP part used, "
        "XW waived, UA not available",
        examples=["AE"],
    ),
]
UnLocode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$"),
    Field(description="UN/LOCODE: ISO 3166 country and 3 characters for the place", examples=["GBDVR"]),
]
TransportModeCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]$"),
    Field(description="Mode of transport, UNECE Recommendation 19: 1 sea, 2 rail, 3 road, 4 air...", examples=["1"]),
]
PackageTypeCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{2}$"),
    Field(description="Type of package, UNECE Recommendation 21 (BX box, TB tub, BG bag...)", examples=["BX"]),
]
Incoterm = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="Delivery terms, Incoterms code (D.E. 4/1)", examples=["CIF"]),
]
