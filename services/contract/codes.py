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
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=512, strip_whitespace=True)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=70, strip_whitespace=True)]
UnitCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{2,3}$"),
    Field(description="UN/ECE Recommendation 20 unit code", examples=["KGM"]),
]
PositiveDecimal = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6)]
