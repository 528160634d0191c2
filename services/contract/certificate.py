"""The electronic phytosanitary certificate (ePhyto) as the contract carries it: parsed business fields.

Names follow the UN/CEFACT SPS certificate (SPSCertificate:17, RAM:21) that the IPPC ePhyto solution exchanges.
Everything beyond the first version's fields is optional, so older bodies stay valid.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from services.contract.codes import (
    CommodityCode,
    CountryCode,
    NonNegativeDecimal,
    PackageTypeCode,
    Reference,
    ShortText,
    TransportModeCode,
)
from services.contract.declaration import Address, ContractModel, Quantity

SpsCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=35, strip_whitespace=True),
    Field(description="A code as the certificate gives it: note subject, treatment characteristic, system name..."),
]
NoteText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4000, strip_whitespace=True),
    Field(description="Free text of a note or a treatment characteristic"),
]
LanguageId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$"),
    Field(description="Language of a text (languageID): ISO 639 code or BCP 47 tag", examples=["en"]),
]
PackageLevelCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,2}$"),
    Field(description="Packaging level (LevelCode): 1 the innermost packages, 2 those holding them...", examples=["1"]),
]


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
    national_registration_number: Reference | None = Field(
        default=None,
        description="The party's national registration number (TypeCode listName NationalRegistrationNumber)",
    )


class SpsNote(ContractModel):
    """A note (IncludedSPSNote, AdditionalInformationSPSNote): a subject code and its content in one language.

    Subjects seen: ADEDL / ADTLIL additional declaration, ADIPEDL import permit, DMCL / DMTLIL distinguishing marks,
    ADRPN / ADRPR replaced certificate and reason, RPC* re-export details, OPTND / OQV / OQU other quantity.
    """

    subject: SpsCode = Field(examples=["ADEDL"])
    content: NoteText
    language_id: LanguageId | None = None


class Signatory(ContractModel):
    """Who signed the certificate, where and when (SignatorySPSAuthentication)."""

    issue_location: ShortText | None = Field(default=None, description="Place of issue (IssueSPSLocation/Name)")
    person_name: ShortText | None = Field(
        default=None, description="The authorised officer (ProviderSPSParty/SpecifiedSPSPerson/Name)"
    )
    signed_at: datetime | None = Field(default=None, description="ActualDateTime, when it states a time zone")
    signed_on: date | None = Field(default=None, description="Date of ActualDateTime, as the certificate states it")
    clause_ids: list[SpsCode] = Field(default_factory=list, max_length=99, description="IncludedSPSClause/ID")


class TreatmentCharacteristic(ContractModel):
    """One characteristic of a treatment (ApplicableSPSProcessCharacteristic), its value as text."""

    code: SpsCode = Field(
        description="TTFT type, TTCH chemical, TTCO concentration, TTTM temperature, TTL1/TTL2, TTAI additional "
        "information",
        examples=["TTCH"],
    )
    value: NoteText | None = Field(
        default=None, description="The text, or the measure with its unit", examples=["32 CEL"]
    )


class Treatment(ContractModel):
    """A treatment applied to the goods (AppliedSPSProcess)."""

    type_code: SpsCode | None = None
    characteristics: list[TreatmentCharacteristic] = Field(default_factory=list, max_length=99)
    start_date: date | None = Field(default=None, description="CompletionSPSPeriod/StartDateTime")
    end_date: date | None = Field(default=None, description="CompletionSPSPeriod/EndDateTime")
    duration: ShortText | None = Field(
        default=None, description="CompletionSPSPeriod/DurationMeasure with its unit", examples=["3.0000 HUR"]
    )
    additional_information: list[SpsNote] = Field(default_factory=list, max_length=99)


class SpsPackage(ContractModel):
    """Packages of a line item at one level (PhysicalSPSPackage)."""

    level_code: PackageLevelCode | None = None
    type_code: PackageTypeCode | None = None
    quantity: NonNegativeDecimal | None = None


class SpsClassification(ContractModel):
    """A classification of a line item (ApplicableSPSClassification): HS code, IPPC commodity class or condition."""

    system_name: SpsCode | None = Field(default=None, examples=["HS", "IPPCPCVP", "IPPCPCC"])
    class_code: SpsCode | None = None
    class_name: ShortText | None = None


class SpsTransportMovement(ContractModel):
    """A main carriage (MainCarriageSPSTransportMovement)."""

    mode_code: TransportModeCode | None = None
    id: Reference | None = Field(default=None, description="Voyage, flight or vehicle registration")
    means_name: ShortText | None = Field(default=None, description="UsedSPSTransportMeans/Name")


class SpsTransportEquipment(ContractModel):
    """A container or other equipment (UtilizedSPSTransportEquipment) and its seals."""

    id: Reference | None = None
    seal_ids: list[Reference] = Field(default_factory=list, max_length=99)


class CertificateLineItem(ContractModel):
    sequence: int = Field(ge=0, le=9999)
    scientific_name: ShortText = Field(description="Botanical name of the plant or plant product")
    description: NoteText | None = Field(default=None, description="What the goods are; often HS headings joined")
    commodity_code: CommodityCode | None = Field(default=None, description="HS classification, when given")
    origin_countries: list[CountryCode] = Field(min_length=1, max_length=20)
    net_quantity: Quantity | None = None
    common_name: ShortText | None = None
    intended_use: ShortText | None = Field(default=None, examples=["Planting"])
    classifications: list[SpsClassification] = Field(default_factory=list, max_length=99)
    packages: list[SpsPackage] = Field(default_factory=list, max_length=99)
    treatments: list[Treatment] = Field(default_factory=list, max_length=99)
    additional_information: list[SpsNote] = Field(
        default_factory=list, max_length=999, description="AdditionalInformationSPSNote of the line item"
    )


class Certificate(ContractModel):
    """An ePhyto: the certificate number is unique per issuing country."""

    number: Reference
    type: CertificateType = CertificateType.PHYTOSANITARY
    status: CertificateStatus = CertificateStatus.ISSUED
    issuing_country: CountryCode
    importing_country: CountryCode
    issued_at: datetime | None = Field(
        default=None,
        description="IssueDateTime when it states a time zone; None when it is empty, a date only or has no zone",
    )
    issued_on: date | None = Field(default=None, description="Date of issue as the certificate states it")
    issuer_name: ShortText | None = Field(default=None, description="The issuing NPPO (IssuerSPSParty/Name)")
    consignor: SpsParty
    consignee: SpsParty
    point_of_entry: Reference | None = None
    line_items: list[CertificateLineItem] = Field(min_length=1, max_length=999)
    hub_delivery_number: Reference | None = None
    signatory: Signatory | None = None
    notes: list[SpsNote] = Field(default_factory=list, max_length=999, description="IncludedSPSNote of the document")
    replaced_certificate_number: Reference | None = Field(
        default=None, description="The certificate this one replaces (note ADRPN)"
    )
    replacement_reason: NoteText | None = Field(default=None, description="Why it was replaced (note ADRPR)")
    transit_countries: list[CountryCode] = Field(default_factory=list, max_length=20)
    main_carriages: list[SpsTransportMovement] = Field(default_factory=list, max_length=20)
    transport_equipment: list[SpsTransportEquipment] = Field(default_factory=list, max_length=999)
