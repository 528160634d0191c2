"""Response examples shown in the OpenAPI document: the roses of the request examples, lodged, released and
arrived. Each is an instance of its response model, so the model checks it; `document` puts them in the spec."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from services.contract.certificate import Certificate
from services.contract.declaration import Amount, Declaration
from services.contract.events import (
    AgencyStanding,
    ClearanceState,
    ClearanceStatus,
    DutyTotals,
    InspectionResult,
    Outcome,
    Reason,
)
from services.gateway.domain.release_study import Dimension, Interval, Summary
from services.gateway.entrypoints.examples import (
    CERTIFICATE_EXAMPLE,
    CERTIFICATE_XML_EXAMPLE,
    CORRECTION_EXAMPLE,
    DECLARATION_EXAMPLE,
)
from services.gateway.entrypoints.notification_schemas import (
    WEBHOOK_EXAMPLE,
    AttemptRead,
    DeliveryCounts,
    DeliveryPage,
    DeliveryRead,
    NotificationPage,
    NotificationRead,
    WebhookCreated,
    WebhookRead,
)
from services.gateway.entrypoints.operations_schemas import (
    BrokerState,
    DeadLetters,
    DecisionMix,
    GroupLag,
    MixRow,
    OperationsOverview,
    ReleaseStudy,
    ServiceHealth,
    StudyRow,
    Throughput,
    WaitingConsignment,
)
from services.gateway.entrypoints.operations_schemas import Counts as OverviewCounts
from services.gateway.entrypoints.routes.notifications import server_sent_event
from services.gateway.entrypoints.schemas import (
    AgencyDecisionRead,
    ArrivalRead,
    CertificateRead,
    ClearanceRead,
    CorrectionAssessmentRead,
    CorrectionRead,
    DeclarationPage,
    DeclarationRead,
    DeclarationSummary,
    DeclarationVersionRead,
    FieldProblem,
    InspectionRead,
    PaymentRead,
    Problem,
    ReleaseRead,
    TimelineEntry,
    VersionRead,
)

ROSES = "01JDQ5S2M8X7Y3K4P9R6T0V1WZ"
LODGED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CUSTOMS_DECIDED = LODGED + timedelta(seconds=1.2)
RELEASED = LODGED + timedelta(seconds=1.9)
ARRIVED = LODGED + timedelta(hours=5, minutes=30)
DECLARATION = Declaration.model_validate(DECLARATION_EXAMPLE)
BOTH_RELEASED = [
    AgencyStanding(agency="customs", outcome=Outcome.RELEASED, sequence=1),
    AgencyStanding(agency="phyto", outcome=Outcome.RELEASED, sequence=1),
]
DUTIES = {
    "currency": "GBP",
    "duty": "0.00",
    "vat": "1467.24",
    "total": "1467.24",
    "items": [
        {
            "goods_item": 1,
            "measure": "0603",
            "customs_value": "7336.24",
            "duty_rate": "0",
            "preference": None,
            "preference_refused": False,
            "duty": "0.00",
            "vat_rate": "20",
            "vat": "1467.24",
        }
    ],
}
WAITING_FOR_PHYTO = Reason(code="AGENCY_PENDING", text="waiting for phyto", agency="phyto")
RELEASE = ReleaseRead(arrived_at=ARRIVED, released_at=RELEASED, from_lodgement_seconds=1.9, from_arrival_seconds=0.0)
ARRIVAL = {"location": "GBDVR", "transport_reference": "P&O Pioneer 0815", "reported_by": "GBDVR-FERRYPORT"}

DECLARATION_READ = DeclarationRead(
    id=ROSES,
    lrn=DECLARATION.lrn,
    version=1,
    required_agencies=["customs", "phyto"],
    routing_version="2026.1",
    clearance=ClearanceRead(
        status=ClearanceStatus.RELEASED, state=ClearanceState.RELEASED, reasons=[], agencies=BOTH_RELEASED
    ),
    decisions=[
        AgencyDecisionRead(
            event_id="cdc23cdc-b6a5-5b5d-b694-e2442e4431a3",
            agency="customs",
            declaration_version=1,
            sequence=1,
            outcome=Outcome.RELEASED,
            reasons=[],
            details={"lane": "green", "rules_hit": [], "duties": DUTIES, "paid": "0.00", "security": "deferment"},
            rules_version="2026.11-2",
            decided_at=CUSTOMS_DECIDED,
        ),
        AgencyDecisionRead(
            event_id="13f27d03-479e-57f1-808c-cd896772ae51",
            agency="phyto",
            declaration_version=1,
            sequence=1,
            outcome=Outcome.RELEASED,
            reasons=[],
            details={"mismatches": [], "awaited_certificates": []},
            rules_version="2026.11-1",
            decided_at=RELEASED,
        ),
    ],
    timeline=[
        TimelineEntry(
            at=LODGED,
            kind="submitted",
            agency=None,
            detail={"version": 1, "required_agencies": ["customs", "phyto"]},
        ),
        TimelineEntry(
            at=CUSTOMS_DECIDED,
            kind="agency_decision",
            agency="customs",
            detail={"outcome": "released", "sequence": 1, "reasons": []},
        ),
        TimelineEntry(
            at=CUSTOMS_DECIDED,
            kind="clearance",
            agency=None,
            detail={"status": "under_control", "state": "accepted", "reasons": [WAITING_FOR_PHYTO.model_dump()]},
        ),
        TimelineEntry(
            at=RELEASED,
            kind="agency_decision",
            agency="phyto",
            detail={"outcome": "released", "sequence": 1, "reasons": []},
        ),
        TimelineEntry(
            at=RELEASED,
            kind="clearance",
            agency=None,
            detail={"status": "released", "state": "released", "reasons": []},
        ),
        TimelineEntry(at=ARRIVED, kind="arrived", agency=None, detail=ARRIVAL),
    ],
    versions=[VersionRead(version=1, changed=[], lodged_at=LODGED)],
    corrections=[],
    release=RELEASE,
    submitted_at=LODGED,
    updated_at=RELEASED,
    declaration=DECLARATION,
)

DECLARATION_PAGE = DeclarationPage(
    items=[
        DeclarationSummary(
            id=ROSES,
            lrn=DECLARATION.lrn,
            version=1,
            status=ClearanceStatus.RELEASED,
            state=ClearanceState.RELEASED,
            required_agencies=["customs", "phyto"],
            submitted_at=LODGED,
            updated_at=RELEASED,
        )
    ],
    next_cursor=None,
)

VERSION_READ = DeclarationVersionRead(version=1, changed=[], lodged_at=LODGED, declaration=DECLARATION)

PAYMENT_READ = PaymentRead(
    id="01JDQ6A0B1C2D3E4F5G6H7J8K9",
    declaration_id=ROSES,
    amount=Amount(value=Decimal("1467.24"), currency="GBP"),
    reference="BANK-2026-11-23-0042",
    recorded_at=LODGED + timedelta(minutes=20),
)

INSPECTION_READ = InspectionRead(
    id="01JDQ6B4M5N6P7Q8R9S0T1V2W3",
    declaration_id=ROSES,
    agency="phyto",
    declaration_version=1,
    result=InspectionResult.RELEASE,
    findings="roses grown in NL, no thrips found",
    referred_to=None,
    officer="Plant health officer Jansen",
    recorded_at=LODGED + timedelta(hours=1),
)

CORRECTION_READ = CorrectionRead(
    id="01JDR0C1D2E3F4G5H6J7K8M9N0",
    declaration_id=ROSES,
    number=1,
    released_version=2,  # the amended roses, 8,050 EUR, corrected to 8,450 EUR
    changed=["goods_items.0.value.value"],
    reason=CORRECTION_EXAMPLE["reason"],
    recorded_at=LODGED + timedelta(days=2),
    assessment=CorrectionAssessmentRead(
        accepted=True,
        reasons=[Reason(code="DUTY_DUE_AFTER_CORRECTION", text="69.87 GBP more is due (duty 0.00, VAT 69.87)")],
        before=DutyTotals(currency="GBP", duty=Decimal("0.00"), vat=Decimal("1406.11"), total=Decimal("1406.11")),
        after=DutyTotals(currency="GBP", duty=Decimal("0.00"), vat=Decimal("1475.98"), total=Decimal("1475.98")),
        difference=Decimal("69.87"),
    ),
    assessed_at=LODGED + timedelta(days=2, seconds=1),
)

ARRIVAL_READ = ArrivalRead(
    declaration_id=ROSES,
    **ARRIVAL,
    arrived_at=ARRIVED,
    status=ClearanceStatus.RELEASED,
    state=ClearanceState.RELEASED,
    release=RELEASE,
)

CERTIFICATE_READ = CertificateRead(
    id="01JDQ5R9A8B7C6D5E4F3G2H1J0",
    issuing_country=CERTIFICATE_EXAMPLE["issuing_country"],
    number=CERTIFICATE_EXAMPLE["number"],
    received_at=LODGED - timedelta(hours=3),
    certificate=Certificate.model_validate(CERTIFICATE_EXAMPLE),
)

NOTIFICATION_PAGE = NotificationPage(
    items=[
        NotificationRead(
            id="01JDQ5S3W4X5Y6Z7A8B9C0D1E2",
            sequence=1,
            type="clearance.changed",
            created_at=RELEASED,
            data={
                "declaration_id": ROSES,
                "lrn": DECLARATION.lrn,
                "declaration_version": 1,
                "state": "released",
                "status": "released",
                "reasons": [],
                "at": RELEASED.isoformat(),
            },
        ),
        NotificationRead(
            id="01JDQ5T7H8J9K0M1N2P3Q4R5S6",
            sequence=2,
            type="goods.arrived",
            created_at=ARRIVED,
            data={"declaration_id": ROSES, "lrn": DECLARATION.lrn, **ARRIVAL, "arrived_at": ARRIVED.isoformat()},
        ),
    ],
    last_sequence=2,
)

WEBHOOK_READ = WebhookRead(
    id="01JDQ4Z9Y8X7W6V5T4S3R2Q1P0",
    url=WEBHOOK_EXAMPLE["url"],
    description=WEBHOOK_EXAMPLE["description"],
    status="active",
    disabled_at=None,
    disabled_reason=None,
    created_at=LODGED - timedelta(days=30),
    deliveries=DeliveryCounts(pending=0, delivered=41, abandoned=0),
)

WEBHOOK_CREATED = WebhookCreated(
    **(WEBHOOK_READ.model_dump() | {"deliveries": DeliveryCounts()}),
    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4Xv6k8R3l1E=",
)

DELIVERY_PAGE = DeliveryPage(
    items=[
        DeliveryRead(
            id="01JDQ5S4A5B6C7D8E9F0G1H2J3",
            notification_id=NOTIFICATION_PAGE.items[0].id,
            type="clearance.changed",
            sequence=1,
            state="delivered",
            next_attempt_at=None,
            delivered_at=RELEASED + timedelta(seconds=2.6),
            last_error=None,
            attempts=[
                AttemptRead(
                    number=1,
                    at=RELEASED + timedelta(seconds=0.5),
                    succeeded=False,
                    status_code=503,
                    error="HTTP 503",
                    duration_ms=84,
                ),
                AttemptRead(
                    number=2,
                    at=RELEASED + timedelta(seconds=2.6),
                    succeeded=True,
                    status_code=204,
                    error=None,
                    duration_ms=31,
                ),
            ],
        )
    ],
    next_cursor=None,
)

PROBLEM = Problem(
    type="about:blank",
    title="Unprocessable Content",
    status=422,
    detail="the request does not match the schema",
    instance="/v1/declarations",
    correlation_id="b7e4c1a2-5f0d-4e8b-9a3c-2d1f0e9b8a76",
    errors=[FieldProblem(path="body.goods_items.0.origin_country", message="String should match pattern '^[A-Z]{2}$'")],
)

OVERVIEW = OperationsOverview(
    at=LODGED + timedelta(minutes=10),
    services=[
        ServiceHealth(name="gateway", reachable=True, ready=True, checks={"database": True, "background_tasks": True}),
        ServiceHealth(name="customs", reachable=True, ready=True, kafka_connected=True, status=200),
        ServiceHealth(name="phyto", reachable=True, ready=True, kafka_connected=True, status=200),
    ],
    broker=BrokerState(bootstrap="kafka:9092", connected=True, last_error=None, offsets_read=True),
    outbox_backlog=0,
    throughput=Throughput(
        last_minute=OverviewCounts(lodged=12, decisions=23, released=11),
        last_15_minutes=OverviewCounts(lodged=170, decisions=335, released=158),
    ),
    lag=[GroupLag(group="customs", topic="declarations", partition=0, committed=5120, end=5121, behind=1)],
    dead_letters=[DeadLetters(topic="declarations.dlq", records=0)],
    decision_mix=DecisionMix(
        hours=24,
        rows=[
            MixRow(agency="customs", outcome="released", lane="green", count=2890),
            MixRow(agency="phyto", outcome="held", lane="none", count=41),
        ],
    ),
    waiting_longest=[
        WaitingConsignment(
            declaration_id=ROSES,
            state="partially_held",
            lodged_at=LODGED,
            waiting_seconds=600.0,
            waiting_for=["phyto: held (CERTIFICATE_AWAITED)"],
        )
    ],
)
STUDY = ReleaseStudy(
    since=LODGED - timedelta(days=30),
    until=LODGED,
    consignments=2,
    rows=[
        StudyRow.of(
            Summary(
                dimension=Dimension.LANE,
                group="green",
                interval=Interval.LODGEMENT_TO_RELEASE,
                agency=None,
                count=2,
                waiting=0,
                percentiles={50: 1.9, 75: 2.4, 90: 2.4, 95: 2.4, 99: 2.4},
                mean=2.15,
                minimum=1.9,
                maximum=2.4,
            )
        )
    ],
)
STUDY_CSV = (
    "since,until,dimension,group,interval,agency,count,waiting,p50_seconds,p75_seconds,p90_seconds,p95_seconds,"
    "p99_seconds,mean_seconds,min_seconds,max_seconds\n"
    "2026-10-24T08:00:00+00:00,2026-11-23T08:00:00+00:00,lane,green,lodgement_to_release,,2,0,1.9,2.4,2.4,2.4,2.4,"
    "2.15,1.9,2.4\n"
)

MODEL_EXAMPLES: list[BaseModel] = [
    DECLARATION_READ,
    DECLARATION_PAGE,
    VERSION_READ,
    PAYMENT_READ,
    INSPECTION_READ,
    CORRECTION_READ,
    ARRIVAL_READ,
    CERTIFICATE_READ,
    NOTIFICATION_PAGE,
    WEBHOOK_READ,
    WEBHOOK_CREATED,
    DELIVERY_PAGE,
    OVERVIEW,
    STUDY,
    PROBLEM,
]

STREAM_EXAMPLE = f"retry: 2000\n\n{server_sent_event(NOTIFICATION_PAGE.items[0])}: keep-alive\n\n"
DOCUMENT_EXAMPLE = CERTIFICATE_XML_EXAMPLE
HEALTH_EXAMPLE = {
    "status": "alive",
    "service": "gateway",
    "kafka": {"bootstrap": "kafka:9092", "connected": True, "last_error": None},
    "failed_tasks": {},
}
READY_EXAMPLE = {"ready": True, "service": "gateway", "checks": {"database": True, "background_tasks": True}}
METRICS_EXAMPLE = (
    "# HELP sw_outbox_backlog Events committed to the outbox and not yet published\n"
    "# TYPE sw_outbox_backlog gauge\n"
    "sw_outbox_backlog 0.0\n"
)
MEDIA_EXAMPLES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/v1/notifications/stream"): ("text/event-stream", STREAM_EXAMPLE),
    ("GET", "/v1/certificates/{certificate_id}/document"): ("application/xml", DOCUMENT_EXAMPLE),
    ("GET", "/health"): ("application/json", HEALTH_EXAMPLE),
    ("GET", "/ready"): ("application/json", READY_EXAMPLE),
    ("GET", "/metrics"): ("text/plain", METRICS_EXAMPLE),
    ("GET", "/v1/release-study"): ("text/csv", STUDY_CSV),
}
"""Responses with no model: the example sits on the media type of the operation's success response."""


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the examples to an OpenAPI document: on each model's schema, and on the success media types above."""
    schemas = spec["components"]["schemas"]
    for example in MODEL_EXAMPLES:
        schemas[type(example).__name__]["examples"] = [example.model_dump(mode="json")]
    for (method, path), (media_type, value) in MEDIA_EXAMPLES.items():
        responses = spec["paths"][path][method.lower()]["responses"]
        success = next(status for status in responses if status.startswith("2"))
        responses[success].setdefault("content", {}).setdefault(media_type, {})["example"] = value
    return spec
