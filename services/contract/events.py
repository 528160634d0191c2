"""Event data carried on Kafka: the one source of the JSON Schemas and of schemas/asyncapi.yaml."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, ValidationInfo

from services.contract.certificate import Certificate
from services.contract.codes import AgencyCode, CurrencyCode, Reference, ShortText, UnLocode
from services.contract.declaration import Amount, ContractModel, Declaration


class Topic(StrEnum):
    """Logical topic names; the deployed name adds the configured prefix."""

    DECLARATIONS = "declarations"
    CERTIFICATES = "certificates"
    INSPECTIONS = "inspections"
    DECISIONS = "decisions"
    CLEARANCE = "clearance"
    ALERTS = "alerts"
    AUDIT = "audit"


class Event(ContractModel):
    """Base of every event's data. Subclasses name their topic and how they are keyed."""

    topic: ClassVar[Topic]
    major_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return f"org.singlewindow.{cls.__name__}.v{cls.major_version}"

    @classmethod
    def schema_id(cls) -> str:
        return f"urn:singlewindow:schema:{cls.__name__}:v{cls.major_version}"

    def key(self) -> str:
        raise NotImplementedError

    def subject(self) -> str:
        return self.key()


class DeclarationSubmitted(Event):
    """A trader lodged a declaration; the gateway says which agencies must answer."""

    topic: ClassVar[Topic] = Topic.DECLARATIONS
    declaration_id: str = Field(description="ULID issued by the gateway")
    version: int = Field(ge=1)
    declaration: Declaration
    required_agencies: list[AgencyCode] = Field(min_length=1)
    routing_version: str
    submitted_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class DeclarationAmended(Event):
    """Before release, the trader lodged a new version of a declaration: every required agency decides afresh on
    it, and decisions on earlier versions no longer count. An agency no longer required drops the declaration."""

    topic: ClassVar[Topic] = Topic.DECLARATIONS
    declaration_id: str
    version: int = Field(ge=2, description="The new version; the one before is `version - 1`")
    declaration: Declaration
    changed: list[str] = Field(description="Dotted paths of the fields that differ from the version before")
    required_agencies: list[AgencyCode] = Field(min_length=1)
    routing_version: str
    submitted_at: AwareDatetime = Field(description="When the first version was lodged (acceptance)")
    amended_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class DeclarationCancelled(Event):
    """Before release, the trader withdrew the declaration: agencies stop acting on it and decide no more."""

    topic: ClassVar[Topic] = Topic.DECLARATIONS
    declaration_id: str
    version: int = Field(ge=1, description="The version that was current when it was cancelled")
    reason: ShortText
    cancelled_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class DeclarationReferred(Event):
    """An officer referred the goods of a declaration version to another agency, which is required on that
    version from now on (and on later versions). It carries the declaration whole, so an agency that was not
    required before can decide on it as on a lodgement; an agency that was already required holds the goods
    for its own control. The referring agency's own decision follows on the decisions topic."""

    topic: ClassVar[Topic] = Topic.DECLARATIONS
    declaration_id: str
    version: int = Field(ge=1, description="The version the referral concerns")
    declaration: Declaration
    referred_to: AgencyCode = Field(description="The agency that must act now")
    already_required: bool = Field(description="True when `referred_to` was required on this version already")
    referred_by: AgencyCode = Field(description="The agency whose officer referred the goods")
    inspection_id: str = Field(description="The inspection result that made the referral")
    findings: ShortText | None = Field(default=None, description="What the referring officer found")
    required_agencies: list[AgencyCode] = Field(min_length=1, description="Every agency required now")
    routing_version: str
    submitted_at: AwareDatetime = Field(description="When the first version was lodged (acceptance)")
    referred_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class DeclarationCorrected(Event):
    """After release, the trader corrected the declaration (post-clearance): the release stands; customs
    assesses what the correction changes in the duties owed."""

    topic: ClassVar[Topic] = Topic.DECLARATIONS
    declaration_id: str
    correction_id: str = Field(description="ULID issued by the gateway")
    number: int = Field(ge=1, description="1 for the declaration's first correction, then 2...")
    released_version: int = Field(ge=1, description="The version that was released, which the correction corrects")
    declaration: Declaration = Field(description="The declaration as corrected, whole")
    changed: list[str] = Field(description="Dotted paths of the fields that differ from the released version")
    reason: ShortText
    corrected_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class CertificateReceived(Event):
    """An NPPO (directly or through the ePhyto Hub) delivered a phytosanitary certificate."""

    topic: ClassVar[Topic] = Topic.CERTIFICATES
    certificate_id: str = Field(description="ULID issued by the gateway")
    certificate: Certificate
    received_at: AwareDatetime

    def key(self) -> str:
        return f"{self.certificate.issuing_country}:{self.certificate.number}"


class PaymentRecorded(Event):
    """A trader paid an amount due on a declaration; the reference is the payment provider's."""

    topic: ClassVar[Topic] = Topic.DECLARATIONS
    declaration_id: str
    payment_id: str = Field(description="ULID issued by the gateway")
    amount: Amount
    reference: Reference = Field(description="The bank's or payment provider's reference of the payment")
    recorded_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class GoodsArrived(Event):
    """A carrier or terminal reported that the goods of a declaration were presented at the border."""

    topic: ClassVar[Topic] = Topic.DECLARATIONS
    declaration_id: str
    location: UnLocode = Field(description="Where the goods were presented (UN/LOCODE)")
    transport_reference: Reference | None = Field(default=None, description="Vessel, flight, vehicle or container")
    reported_by: ShortText = Field(description="The carrier or terminal that reported it")
    arrived_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class InspectionResult(StrEnum):
    """What an officer found: release the goods, seize them (refused unless treated) or refer them to another agency."""

    RELEASE = "release"
    SEIZE = "seize"
    REFER = "refer"


class PlantHealthAction(StrEnum):
    """What a plant-health officer ordered for seized goods (added in 1.4): a treatment holds them, destruction or
    re-export refuses them. A consumer built on an older contract reads only `result` (seize) and refuses them."""

    NONE = "none"  # no measure: the result says it all
    TREATMENT_ORDERED = "treatment_ordered"  # detained until treated; a later inspection records the release
    DESTROYED = "destroyed"  # refused: the goods are destroyed under official control
    RE_EXPORTED = "re_exported"  # refused: the goods are sent out of the country


PestName = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=128, strip_whitespace=True, pattern=r"^[A-Z][A-Za-z-]+( [A-Za-z0-9.()'&/-]+)*$"
    ),
    Field(
        description="Scientific name of a pest, genus first and capitalised (EPPO Global Database names)",
        examples=["Thrips palmi", "Bactrocera dorsalis"],
    ),
]
MAX_PESTS = 20


def _each_pest_once(pests: list[str]) -> list[str]:
    repeated = sorted({pest for pest in pests if pests.count(pest) > 1})
    if repeated:
        raise ValueError(f"list each pest once: {', '.join(repeated)} appears more than once")
    return pests


def _action_fits_the_result(action: PlantHealthAction | None, info: ValidationInfo) -> PlantHealthAction | None:
    result = info.data.get("result")
    if action in (None, PlantHealthAction.NONE) or result is None:  # an invalid result has its own error
        return action
    if result is not InspectionResult.SEIZE:
        raise ValueError(
            f"action `{action}` goes with result `seize` (the goods are detained while it is carried out), "
            f"not `{result}`; with `{result}` the action is `none`"
        )
    return action


def _treatment_fits(treatment: str | None, info: ValidationInfo) -> str | None:
    result, action = info.data.get("result"), info.data.get("action")
    if result is None or "action" not in info.data:  # an invalid result or action has its own error
        return treatment
    if action is PlantHealthAction.TREATMENT_ORDERED:
        if treatment is None:
            raise ValueError("action `treatment_ordered` needs `treatment`: the treatment ordered")
        return treatment
    if result is InspectionResult.RELEASE:
        if info.data.get("pests_found") and treatment is None:
            raise ValueError(
                "a release with pests_found needs `treatment`: the treatment the goods had since the pests were "
                "found (goods are not released with live pests)"
            )
        return treatment
    if treatment is not None:
        raise ValueError(
            "treatment is the treatment ordered (result `seize`, action `treatment_ordered`) or the one the goods "
            f"had before a `release`; not with result `{result}`" + (f" and action `{action}`" if action else "")
        )
    return treatment


InspectionPests = Annotated[
    list[PestName],
    AfterValidator(_each_pest_once),
    Field(
        max_length=MAX_PESTS,
        description=(
            "Plant health only (added to the contract in 1.4): the pests the officer found, each once. With result "
            "`release` they need `treatment` (the treatment that dealt with them); with `seize` or `refer`, any action"
        ),
    ),
]
InspectionAction = Annotated[
    PlantHealthAction | None,
    AfterValidator(_action_fits_the_result),
    Field(
        description=(
            "Plant health only (added to the contract in 1.4): what the officer ordered. `treatment_ordered` (with "
            "`treatment`) holds the goods until a later inspection records `release`; `destroyed` and `re_exported` "
            "refuse them for good. Those three go with result `seize`; `release` and `refer` go with `none` or no "
            "action. Absent from older producers and from other agencies' officers"
        ),
    ),
]
InspectionTreatment = Annotated[
    ShortText | None,
    AfterValidator(_treatment_fits),
    Field(
        validate_default=True,
        description=(
            "Plant health only (added to the contract in 1.4): with action `treatment_ordered`, required: the "
            "treatment ordered (e.g. fumigation, cold treatment, its schedule); with result `release`, the treatment "
            "the goods had, required when `pests_found` is not empty; otherwise not allowed"
        ),
    ),
]


class InspectionRecorded(Event):
    """An officer of an agency recorded the result of a documentary check or physical inspection."""

    topic: ClassVar[Topic] = Topic.INSPECTIONS
    inspection_id: str = Field(description="ULID issued by the gateway")
    agency: AgencyCode = Field(description="The officer's agency: only that agency acts on it")
    declaration_id: str
    declaration_version: int = Field(ge=1)
    result: InspectionResult
    findings: ShortText | None = None
    referred_to: AgencyCode | None = Field(default=None, description="With result `refer`: the agency to act next")
    officer: ShortText = Field(description="Who recorded it: the officer key's label or identifier")
    recorded_at: AwareDatetime
    pests_found: InspectionPests = []
    action: InspectionAction = None
    treatment: InspectionTreatment = None

    def key(self) -> str:
        return self.declaration_id


class Outcome(StrEnum):
    RELEASED = "released"
    HELD = "held"
    REFUSED = "refused"
    NOT_CONCERNED = "not_concerned"


class Reason(ContractModel):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,63}$", examples=["CERTIFICATE_AWAITED"])
    text: ShortText
    agency: AgencyCode | None = Field(
        default=None, description="On single-window reasons: the agency that gave it (or is awaited)"
    )


class AgencyDecisionMade(Event):
    """One agency's decision on one version of a declaration: the same shape for every agency."""

    topic: ClassVar[Topic] = Topic.DECISIONS
    agency: AgencyCode
    declaration_id: str
    declaration_version: int = Field(ge=1)
    sequence: int = Field(ge=1, description="Per agency and declaration; a lower sequence is stale")
    outcome: Outcome
    reasons: list[Reason] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict, description="Agency specifics: lane, mismatches...")
    rules_version: str = Field(description="Version of the rules (profile, requirements) the decision used")
    decided_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class DutyTotals(ContractModel):
    currency: CurrencyCode
    duty: Decimal
    vat: Decimal
    total: Decimal


class CorrectionAssessed(Event):
    """Customs' answer to a post-clearance correction: the duties before and after it, and the difference."""

    topic: ClassVar[Topic] = Topic.DECISIONS
    agency: AgencyCode
    declaration_id: str
    correction_id: str
    accepted: bool = Field(description="False when customs cannot assess the corrected declaration (see reasons)")
    reasons: list[Reason] = Field(default_factory=list)
    before: DutyTotals | None = Field(default=None, description="Duties owed on the released version")
    after: DutyTotals | None = Field(default=None, description="Duties owed on the corrected declaration")
    difference: Decimal | None = Field(
        default=None, description="after.total - before.total: above zero more is due, below zero it is repaid"
    )
    details: dict[str, Any] = Field(default_factory=dict, description="Per-item duties and the data versions used")
    rules_version: str
    assessed_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class ClearanceStatus(StrEnum):
    """The coarse single-window status of contract v1; `ClearanceState` is the state it summarises."""

    SUBMITTED = "submitted"
    UNDER_CONTROL = "under_control"
    HELD = "held"
    REFUSED = "refused"
    RELEASED = "released"
    CANCELLED = "cancelled"


class ClearanceState(StrEnum):
    """The single-window state machine. `released` and `cancelled` are final for the version; an amendment
    starts its new version at `submitted`."""

    SUBMITTED = "submitted"  # no required agency has answered yet
    ACCEPTED = "accepted"  # some have answered and cleared it, others are awaited
    UNDER_CONTROL = "under_control"  # an agency holds the goods and none has released them
    PARTIALLY_HELD = "partially_held"  # one agency released the goods while another holds them
    RELEASED = "released"  # every required agency released it or is not concerned
    REFUSED = "refused"  # an agency refused it
    CANCELLED = "cancelled"  # the trader cancelled it before release

    @property
    def status(self) -> ClearanceStatus:
        """The v1 status this state reads as."""
        return _STATUS_OF_STATE[self]


_STATUS_OF_STATE = {
    ClearanceState.SUBMITTED: ClearanceStatus.SUBMITTED,
    ClearanceState.ACCEPTED: ClearanceStatus.UNDER_CONTROL,
    ClearanceState.UNDER_CONTROL: ClearanceStatus.HELD,
    ClearanceState.PARTIALLY_HELD: ClearanceStatus.HELD,
    ClearanceState.RELEASED: ClearanceStatus.RELEASED,
    ClearanceState.REFUSED: ClearanceStatus.REFUSED,
    ClearanceState.CANCELLED: ClearanceStatus.CANCELLED,
}


class AgencyStanding(ContractModel):
    agency: AgencyCode
    outcome: Outcome | None = Field(description="None while the agency has not answered")
    sequence: int | None = None


class ClearanceDecided(Event):
    """The single-window decision changed: one answer joining every required agency."""

    topic: ClassVar[Topic] = Topic.CLEARANCE
    declaration_id: str
    declaration_version: int = Field(ge=1)
    status: ClearanceStatus
    state: ClearanceState | None = Field(
        default=None, description="The state `status` summarises (added in 1.1; absent from older producers)"
    )
    agencies: list[AgencyStanding]
    reasons: list[Reason] = Field(default_factory=list)
    decided_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class AlertCode(StrEnum):
    CERTIFICATE_WITHDRAWN_AFTER_RELEASE = "CERTIFICATE_WITHDRAWN_AFTER_RELEASE"
    CERTIFICATE_REPLACED_AFTER_RELEASE = "CERTIFICATE_REPLACED_AFTER_RELEASE"


class AlertRaised(Event):
    """An agency learnt, after it released a consignment, something that would have stopped it: for example the
    exporting NPPO withdrew the certificate the release relied on. A release is final, so no decision can take it
    back: the alert tells the single window, which flags the consignment, and the officers who must find the
    goods. `reasons` are what the agency would decide now."""

    topic: ClassVar[Topic] = Topic.ALERTS
    alert_id: str = Field(description="Stable per cause: a redelivered cause raises the same id")
    agency: AgencyCode
    declaration_id: str
    declaration_version: int = Field(ge=1)
    code: AlertCode
    text: ShortText
    certificate_number: Reference | None = Field(default=None, description="The certificate the alert is about")
    reasons: list[Reason] = Field(default_factory=list, max_length=200)
    raised_at: AwareDatetime

    def key(self) -> str:
        return self.declaration_id


class AuditAnchored(Event):
    """The gateway sealed its audit trail up to `position`: the chain's head, kept outside its database so that
    an edited, deleted, reordered or truncated trail is found by `python -m services.gateway.entrypoints.audit`."""

    topic: ClassVar[Topic] = Topic.AUDIT
    position: int = Field(ge=1, description="The last sealed record: records are numbered 1, 2, ...")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 chain hash of the record at `position`")
    sealed: int = Field(ge=1, description="How many records this round sealed")
    sealed_at: AwareDatetime

    def key(self) -> str:
        return "audit"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name(): cls
    for cls in (
        DeclarationSubmitted,
        DeclarationAmended,
        DeclarationCancelled,
        DeclarationCorrected,
        DeclarationReferred,
        GoodsArrived,
        PaymentRecorded,
        CertificateReceived,
        InspectionRecorded,
        AgencyDecisionMade,
        CorrectionAssessed,
        ClearanceDecided,
        AlertRaised,
        AuditAnchored,
    )
}
