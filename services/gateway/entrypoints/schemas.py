"""HTTP read models of the gateway: what GET returns."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.contract.certificate import Certificate
from services.contract.codes import AgencyCode, Reference, ShortText, UnLocode
from services.contract.declaration import Amount, Declaration
from services.contract.events import (
    AgencyStanding,
    ClearanceState,
    ClearanceStatus,
    DutyTotals,
    InspectionAction,
    InspectionPests,
    InspectionResult,
    InspectionTreatment,
    Outcome,
    PlantHealthAction,
    Reason,
)

ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # the ids the gateway issues


class AgencyDecisionRead(BaseModel):
    event_id: str
    agency: str
    declaration_version: int
    sequence: int
    outcome: Outcome
    reasons: list[Reason]
    details: dict[str, Any]
    rules_version: str
    decided_at: datetime


class TimelineEntry(BaseModel):
    at: datetime
    kind: str = Field(
        description="submitted, amended, cancelled, arrived, agency_decision, clearance, payment_recorded, "
        "inspection_recorded, referred, correction_recorded, correction_assessed or alert"
    )
    agency: str | None
    detail: dict[str, Any]


class ClearanceRead(BaseModel):
    status: ClearanceStatus = Field(description="The v1 summary of `state`")
    state: ClearanceState = Field(description="Where the single-window state machine stands")
    reasons: list[Reason]
    agencies: list[AgencyStanding]


class VersionRead(BaseModel):
    version: int
    changed: list[str] = Field(description="Dotted paths of the fields that differ from the version before")
    lodged_at: datetime


class DeclarationVersionRead(VersionRead):
    declaration: Declaration


class CorrectionAssessmentRead(BaseModel):
    accepted: bool = Field(description="False when customs could not assess the corrected declaration")
    reasons: list[Reason]
    before: DutyTotals | None = Field(description="Duties owed on the released version")
    after: DutyTotals | None = Field(description="Duties owed on the corrected declaration")
    difference: Decimal | None = Field(description="after.total - before.total: above zero more is due")


class CorrectionRead(BaseModel):
    id: str
    declaration_id: str
    number: int
    released_version: int
    changed: list[str]
    reason: str
    recorded_at: datetime
    assessment: CorrectionAssessmentRead | None = Field(description="Customs' assessment; null until it arrives")
    assessed_at: datetime | None


class ReleaseRead(BaseModel):
    arrived_at: datetime | None = Field(description="When a carrier reported the goods presented; null before")
    released_at: datetime | None = Field(description="When the single-window decision first became `released`")
    from_lodgement_seconds: float | None = Field(description="Release time from lodgement; null until released")
    from_arrival_seconds: float | None = Field(
        description="Release time from arrival; 0 when released before the goods arrived (pre-arrival processing)"
    )


class ArrivalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: UnLocode = Field(description="Where the goods were presented (UN/LOCODE), e.g. GBDVR")
    transport_reference: Reference | None = Field(default=None, description="Vessel, flight, vehicle or container")
    arrived_at: AwareDatetime | None = Field(default=None, description="When they arrived; default: now")


class ArrivalRead(BaseModel):
    declaration_id: str
    location: str
    transport_reference: str | None
    reported_by: str
    arrived_at: datetime
    status: ClearanceStatus = Field(
        description="The single-window decision now: the carrier moves the goods once released"
    )
    state: ClearanceState
    release: ReleaseRead


class AlertRead(BaseModel):
    alert_id: str
    agency: str
    declaration_version: int
    code: str = Field(examples=["CERTIFICATE_WITHDRAWN_AFTER_RELEASE"])
    text: str
    certificate_number: str | None
    reasons: list[Reason] = Field(description="What the agency would decide now")
    raised_at: datetime


class DeclarationRead(BaseModel):
    id: str
    lrn: str
    version: int = Field(description="The current version: 1, then one more for every amendment")
    required_agencies: list[str]
    routing_version: str
    clearance: ClearanceRead
    decisions: list[AgencyDecisionRead]
    timeline: list[TimelineEntry]
    versions: list[VersionRead] = Field(description="Every version lodged; GET .../versions/{n} for its body")
    corrections: list[CorrectionRead] = Field(description="Post-clearance corrections, beside the released version")
    alerts: list[AlertRead] = Field(
        default_factory=list,
        description="Raised by an agency after the release (its certificate withdrawn...): the consignment is flagged",
    )
    release: ReleaseRead
    submitted_at: datetime
    updated_at: datetime
    declaration: Declaration = Field(description="The current version")


class DeclarationSummary(BaseModel):
    id: str
    lrn: str
    version: int
    status: ClearanceStatus
    state: ClearanceState
    required_agencies: list[str]
    submitted_at: datetime
    updated_at: datetime


class DeclarationPage(BaseModel):
    items: list[DeclarationSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class CertificateRead(BaseModel):
    id: str
    issuing_country: str
    number: str
    received_at: datetime
    certificate: Certificate


class FieldProblem(BaseModel):
    path: str = Field(description="Dotted path of the field in the request, e.g. body.goods_items.0.origin_country")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount = Field(description="The amount paid, usually the `total` of customs' duties in its currency")
    reference: Reference = Field(description="The bank's or payment provider's reference of the payment")


class PaymentRead(BaseModel):
    id: str
    declaration_id: str
    amount: Amount
    reference: str
    recorded_at: datetime


class InspectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: InspectionResult
    findings: ShortText | None = Field(default=None, description="What the officer found")
    referred_to: AgencyCode | None = Field(default=None, description="With result `refer`: the agency to act next")
    pests_found: InspectionPests = []
    action: InspectionAction = None
    treatment: InspectionTreatment = None

    @model_validator(mode="after")
    def _referral(self) -> "InspectionCreate":
        if (self.result is InspectionResult.REFER) != (self.referred_to is not None):
            raise ValueError("referred_to is required with result `refer`, and only then")
        return self


class CancellationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ShortText = Field(description="Why the declaration is withdrawn, e.g. the goods were not shipped")


class CorrectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ShortText = Field(description="What was wrong in the released declaration")
    declaration: Declaration = Field(description="The whole declaration as it should have been, function code 4 or 5")


class InspectionRead(BaseModel):
    id: str
    declaration_id: str
    agency: str
    declaration_version: int
    result: InspectionResult
    findings: str | None
    referred_to: str | None
    pests_found: list[str] = Field(default_factory=list, description="Plant health: the pests the officer found")
    action: PlantHealthAction | None = Field(default=None, description="Plant health: what the officer ordered")
    treatment: str | None = Field(default=None, description="Plant health: the treatment ordered or applied")
    officer: str
    recorded_at: datetime

    @field_validator("pests_found", mode="before")
    @classmethod
    def _none_found(cls, pests: list[str] | None) -> list[str]:
        return pests or []  # inspections recorded before plant-health results have none
