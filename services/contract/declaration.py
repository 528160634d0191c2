"""The customs declaration as the contract carries it: a WCO Data Model shaped subset.

Names follow the WCO Data Model (3.6) classes; D.E. numbers are those of the EU Union Customs Code annex B that
the UK CDS declarations use. Everything beyond the first version's fields is optional, so older bodies stay valid.
"""

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.contract.codes import (
    AdditionalCommodityCode,
    AdditionalDeclarationType,
    CommodityCode,
    CountryCode,
    CurrencyCode,
    DocumentStatus,
    Incoterm,
    NonNegativeDecimal,
    PackageTypeCode,
    PositiveDecimal,
    Reference,
    ShortText,
    TaricCode,
    TraderId,
    TransportModeCode,
    UnitCode,
    UnLocode,
)


class ContractModel(BaseModel):
    """Base of every contract model: values are frozen, unknown fields are ignored.

    Ignoring is what lets the contract grow by optional fields within a major version: a consumer built
    on an older contract still reads newer events. The gateway refuses unknown fields in HTTP bodies
    itself (entrypoints/bodies.py), where they are a client's mistake.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class DeclarationType(StrEnum):
    """WCO DM declaration type (D.E. 1/1)."""

    IMPORT = "IM"
    EXPORT = "EX"
    TRANSIT = "CO"


class FunctionCode(StrEnum):
    """What the message does to the declaration its LRN names (WCO FunctionCode, UN/EDIFACT 1225)."""

    ORIGINAL = "9"
    CHANGE = "4"
    REPLACE = "5"
    CANCELLATION = "1"


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


# Legal forms dropped before names compare: "Roses Import Ltd" is "ROSES IMPORT LIMITED".
LEGAL_FORMS = frozenset(
    {"ltd", "limited", "plc", "llc", "inc", "co", "corp", "sa", "sas", "sl", "srl", "spa", "bv", "nv", "gmbh", "ag"}
)


def normalised_name(name: str) -> str:
    """A party's name as names compare across documents (a declaration's importer, a certificate's consignee):
    case, punctuation, spacing and legal forms aside."""
    words = re.sub(r"[^0-9a-z]+", " ", name.casefold()).split()
    return " ".join(word for word in words if word not in LEGAL_FORMS)


class Authorisation(ContractModel):
    """A customs authorisation a party holds (WCO AuthorisationHolder, D.E. 3/39): AEO status, deferment..."""

    holder_id: TraderId = Field(description="Identifier (EORI) of the holder")
    category_code: str = Field(
        pattern=r"^[A-Z0-9]{3,4}$",
        description="Authorisation type: AEOC/AEOS/AEOF authorised economic operator, DPO deferment of payment, "
        "CGU comprehensive guarantee, SDE simplified declaration...",
        examples=["AEOC"],
    )


class Amount(ContractModel):
    value: PositiveDecimal
    currency: CurrencyCode


class Quantity(ContractModel):
    value: PositiveDecimal
    unit: UnitCode


class DocumentCode(ContractModel):
    """The 4-character code of a document (D.E. 2/3): its category and its type, e.g. N + 851."""

    category_code: str = Field(pattern=r"^[A-Z0-9]$", examples=["N"])
    type_code: str = Field(pattern=r"^[A-Z0-9]{3}$", examples=["851"])

    @property
    def code(self) -> str:
        return f"{self.category_code}{self.type_code}"


class ReferencedDocument(DocumentCode):
    """A document the declaration refers to (WCO AdditionalDocument): N851 is a phytosanitary certificate."""

    id: Reference
    status: DocumentStatus | None = None
    name: ShortText | None = Field(default=None, description="Free text the declarant gives with the document")


class DocumentStatement(DocumentCode):
    """A document code declared without a document identifier (WCO AdditionalDocument with no ID).

    Such an entry states something about a document rather than citing one, e.g. Y942 "goods not concerned by
    Regulation 2016/1141"; it is kept apart from `documents` so that every cited document has an id to look up.
    """

    status: DocumentStatus | None = None
    name: ShortText | None = None


PHYTOSANITARY_CERTIFICATE = "N851"


class PreviousDocument(ContractModel):
    """A document the declaration follows on from (D.E. 2/1): DUCR (DCR), entry summary MRN (355)..."""

    category_code: str = Field(pattern=r"^[A-Z]$", description="X, Y or Z", examples=["Z"])
    type_code: str = Field(pattern=r"^[A-Z0-9]{3}$", examples=["DCR"])
    id: Reference
    line: int | None = Field(default=None, ge=1, le=999, description="Goods item in the previous document")


class AdditionalInformation(ContractModel):
    """A coded statement (D.E. 2/2), e.g. 00500 "declarant is the importer"."""

    code: str = Field(pattern=r"^[A-Z0-9]{5}$", examples=["00500"])
    text: ShortText | None = None


class Package(ContractModel):
    """Packages of a goods item (WCO Packaging, D.E. 6/9 to 6/11)."""

    type_code: PackageTypeCode
    quantity: int | None = Field(default=None, ge=0, le=99_999_999)
    marks: ShortText | None = Field(default=None, description="Shipping marks")


AdditionalProcedureCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3}$")]


class Procedure(ContractModel):
    """Customs procedure (D.E. 1/10 and 1/11): requested and previous procedure, additional procedures."""

    requested: str = Field(pattern=r"^[0-9]{2}$", examples=["40"])
    previous: str = Field(pattern=r"^[0-9]{2}$", examples=["00"])
    additional: list[AdditionalProcedureCode] = Field(default_factory=list, max_length=99, examples=[["000"]])

    @property
    def code(self) -> str:
        """The 4-digit procedure code, e.g. 4000."""
        return f"{self.requested}{self.previous}"


class DutyTaxFee(ContractModel):
    """One duty, tax or fee line of a goods item (WCO DutyTaxFee, D.E. 4/3 to 4/8 and 4/17).

    Declarations may split a line: the UK samples give the preference (regime) and the tax type in separate
    lines, so either may be absent, not both.
    """

    type_code: str | None = Field(
        default=None, pattern=r"^[A-Z0-9]{3}$", description="Tax type: A00/A50 customs duty, B00 VAT", examples=["A50"]
    )
    regime_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{3}$",
        description="Preference (D.E. 4/17): 100 third-country duty, 300 tariff preference",
        examples=["100"],
    )
    tax_base_quantity: Quantity | None = Field(default=None, description="Specific tax base (D.E. 4/4)")
    tax_base_amount: Amount | None = Field(default=None, description="Ad valorem tax base")
    rate: NonNegativeDecimal | None = Field(default=None, description="Tax rate (D.E. 4/5)")
    payment_method: str | None = Field(
        default=None,
        pattern=r"^[A-Z]$",
        description="Method of payment (D.E. 4/8): E deferment, R security...",
        examples=["E"],
    )

    @model_validator(mode="after")
    def _typed(self) -> "DutyTaxFee":
        if self.type_code is None and self.regime_code is None:
            raise ValueError("a duty, tax or fee line needs a type code or a duty regime code")
        return self


class GoodsItem(ContractModel):
    sequence: int = Field(ge=1, le=999)
    commodity_code: CommodityCode
    taric_code: TaricCode | None = Field(default=None, description="Only with an 8-digit commodity_code")
    taric_additional_codes: list[AdditionalCommodityCode] = Field(default_factory=list, max_length=99)
    national_additional_codes: list[AdditionalCommodityCode] = Field(default_factory=list, max_length=99)
    description: ShortText
    origin_country: CountryCode = Field(description="Country of origin (D.E. 5/15)")
    preferential_origin: CountryCode | None = Field(
        default=None, description="Country of preferential origin, when a preference is claimed (D.E. 5/16)"
    )
    export_country: CountryCode | None = Field(
        default=None, description="Country of dispatch of this item, when items differ (else the declaration's)"
    )
    quantity: Quantity = Field(description="Quantity of goods: the net mass in KGM unless another unit is given")
    value: Amount = Field(description="Item price (D.E. 4/14), the basis of the customs value")
    net_mass_kg: PositiveDecimal | None = Field(default=None, description="Net mass in kg (D.E. 6/1)")
    gross_mass_kg: PositiveDecimal | None = Field(default=None, description="Gross mass in kg (D.E. 6/5)")
    supplementary_quantity: PositiveDecimal | None = Field(
        default=None, description="Supplementary units, in the unit the tariff sets for the code (D.E. 6/2)"
    )
    packages: list[Package] = Field(default_factory=list, max_length=99)
    valuation_method: str | None = Field(
        default=None, pattern=r"^[0-9]$", description="Valuation method (D.E. 4/16): 1 transaction value"
    )
    procedure: Procedure | None = None
    duties: list[DutyTaxFee] = Field(default_factory=list, max_length=99)
    documents: list[ReferencedDocument] = Field(default_factory=list, max_length=99)
    document_statements: list[DocumentStatement] = Field(default_factory=list, max_length=99)
    previous_documents: list[PreviousDocument] = Field(default_factory=list, max_length=99)
    additional_information: list[AdditionalInformation] = Field(default_factory=list, max_length=99)

    @model_validator(mode="after")
    def _consistent(self) -> "GoodsItem":
        if self.taric_code is not None and len(self.commodity_code) != 8:
            raise ValueError(
                f"taric_code {self.taric_code!r} completes an 8-digit commodity code, "
                f"not {self.commodity_code!r}: give 8 digits and the TARIC code, or 10 digits alone"
            )
        if self.net_mass_kg is not None and self.gross_mass_kg is not None and self.gross_mass_kg < self.net_mass_kg:
            raise ValueError(
                f"gross mass {self.gross_mass_kg} kg is less than net mass {self.net_mass_kg} kg: "
                "the gross mass includes the packaging"
            )
        return self

    @property
    def hs6(self) -> str:
        return self.commodity_code[:6]

    @property
    def full_commodity_code(self) -> str:
        """The commodity code with its TARIC code when one was given: 10 digits, else as declared."""
        return self.commodity_code + (self.taric_code or "")

    @property
    def origin_preferential(self) -> bool:
        return self.preferential_origin is not None

    @property
    def package_count(self) -> int:
        return sum(package.quantity or 0 for package in self.packages)


class TransportMeans(ContractModel):
    """A means of transport (WCO BorderTransportMeans or ArrivalTransportMeans)."""

    mode_code: TransportModeCode | None = None
    id: Reference | None = None
    identification_type: str | None = Field(
        default=None, pattern=r"^[0-9]{1,2}$", description="How `id` identifies it: 10 IMO ship number..."
    )
    nationality: CountryCode | None = None


class Transport(ContractModel):
    border: TransportMeans | None = Field(default=None, description="Active means crossing the border (D.E. 7/4)")
    arrival: TransportMeans | None = Field(default=None, description="Means of transport on arrival (D.E. 7/9)")
    containerised: bool | None = Field(default=None, description="Goods travel in containers (D.E. 7/2)")
    container_ids: list[Reference] = Field(default_factory=list, max_length=999)


class GoodsLocation(ContractModel):
    """Where the goods can be examined (D.E. 5/23), as the national location code says."""

    name: Reference = Field(examples=["WPTWPTWPT"])
    type_code: str | None = Field(default=None, pattern=r"^[A-Z]$", description="A designated location...")
    qualifier: str | None = Field(default=None, pattern=r"^[A-Z]$", description="How `name` identifies it")
    country_code: CountryCode | None = None


class TradeTerms(ContractModel):
    condition_code: Incoterm
    location: UnLocode | None = None
    location_name: ShortText | None = None


class Guarantee(ContractModel):
    """The guarantee securing the duties (WCO ObligationGuarantee, D.E. 8/2 and 8/3)."""

    type_code: str = Field(pattern=r"^[0-9A-Z]$", examples=["1"])
    reference: Reference | None = None


# Standard (A, D) and supplementary (Y, Z) import declarations state, for every goods item, what each of the real
# UK samples states: the net mass and the procedure. Simplified declarations and the first version's bodies
# (no additional type) need not.
_FULL_IMPORT_TYPES = frozenset("ADYZ")


class Declaration(ContractModel):
    """What a trader declares: parties, goods items and the documents they rely on."""

    lrn: Reference = Field(description="The trader's own reference (LRN), unique per declarant")
    type: DeclarationType = DeclarationType.IMPORT
    additional_type: AdditionalDeclarationType | None = None
    function_code: FunctionCode = FunctionCode.ORIGINAL
    acceptance_datetime: AwareDatetime | None = Field(
        default=None, description="Acceptance date and time as the declaration states it (WCO AcceptanceDateTime)"
    )
    consignment_reference: Reference | None = Field(
        default=None, description="Reference of the consignment (UCR; the DUCR in the UK)"
    )
    declarant: Party
    importer: Party
    exporter: Party
    authorisations: list[Authorisation] = Field(default_factory=list, max_length=99)
    export_country: CountryCode | None = None
    destination_country: CountryCode | None = None
    point_of_entry: Reference | None = Field(default=None, description="UN/LOCODE of the place of entry")
    goods_location: GoodsLocation | None = None
    transport: Transport | None = None
    trade_terms: TradeTerms | None = None
    guarantees: list[Guarantee] = Field(default_factory=list, max_length=99)
    goods_items: list[GoodsItem] = Field(min_length=1, max_length=999)
    documents: list[ReferencedDocument] = Field(default_factory=list, max_length=99)
    document_statements: list[DocumentStatement] = Field(default_factory=list, max_length=99)
    previous_documents: list[PreviousDocument] = Field(default_factory=list, max_length=99)

    @model_validator(mode="after")
    def _sequences_unique(self) -> "Declaration":
        seen = [item.sequence for item in self.goods_items]
        if len(seen) != len(set(seen)):
            raise ValueError("goods item sequence numbers must be unique")
        return self

    @model_validator(mode="after")
    def _required_by_type(self) -> "Declaration":
        if self.type is DeclarationType.IMPORT and self.additional_type in _FULL_IMPORT_TYPES:
            kind = f"{self.type}{self.additional_type}"
            for index, item in enumerate(self.goods_items):
                for field, element in (("net_mass_kg", "6/1 net mass"), ("procedure", "1/10 procedure")):
                    if getattr(item, field) is None:
                        raise ValueError(
                            f"{kind} declaration: goods_items.{index}.{field} is required (D.E. {element})"
                        )
        return self

    def referenced_documents(self, code: str) -> list[ReferencedDocument]:
        """Every document with this 4-character code, at header or item level."""
        found = [d for d in self.documents if d.code == code]
        found += [d for item in self.goods_items for d in item.documents if d.code == code]
        return found


def cited_certificates(declaration: Declaration, item: GoodsItem) -> list[str]:
    """Certificate numbers an item relies on: its own N851 documents, else the declaration's."""
    own = [doc.id for doc in item.documents if doc.code == PHYTOSANITARY_CERTIFICATE]
    header = [doc.id for doc in declaration.documents if doc.code == PHYTOSANITARY_CERTIFICATE]
    return own or header
