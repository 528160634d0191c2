"""Valid contract objects for unit tests, built from the API examples; each test overrides only what it is about."""

import copy
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.contract.certificate import Certificate, CertificateLineItem, CertificateStatus
from services.contract.declaration import Declaration, GoodsItem, ReferencedDocument
from services.contract.events import (
    AgencyDecisionMade,
    AgencyStanding,
    CertificateReceived,
    ClearanceDecided,
    ClearanceStatus,
    DeclarationSubmitted,
    Outcome,
    Reason,
)
from services.contract.keyed_draw import KeyedDraw
from services.gateway.domain.clearance import AgencyDecision
from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE, DECLARATION_EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
ROUTING_TABLE = ROOT / "services" / "gateway" / "data" / "routing.yaml"
RISK_PROFILE = ROOT / "services" / "customs" / "data" / "risk-profile.yaml"
IMPORT_REQUIREMENTS = ROOT / "services" / "phyto" / "data" / "import-requirements.yaml"
INSPECTION_DRAW = KeyedDraw(b"test-inspection-key-0123456789")
"""The plant-health inspection draw of the unit tests, with a key of their own."""

CERTIFICATE_NUMBER: str = CERTIFICATE_EXAMPLE["number"]
AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def document(id: str, code: str = "N851", status: str | None = None) -> ReferencedDocument:
    """A referenced document; by default a phytosanitary certificate (N851)."""
    return ReferencedDocument(category_code=code[0], type_code=code[1:], id=id, status=status)


def goods_item(
    sequence: int = 1,
    *,
    commodity_code: str = "06031100",
    origin_country: str = "NL",
    value: str = "8400.00",
    documents: Iterable[ReferencedDocument] = (),
    **overrides: Any,
) -> GoodsItem:
    """The example's fresh cut roses; unlike the example it cites no document unless told to."""
    fields = copy.deepcopy(DECLARATION_EXAMPLE["goods_items"][0])
    fields.update(
        sequence=sequence,
        commodity_code=commodity_code,
        origin_country=origin_country,
        value={"value": value, "currency": "EUR"},
        documents=list(documents),
        **overrides,
    )
    return GoodsItem.model_validate(fields)


def declaration(*items: GoodsItem, documents: Iterable[ReferencedDocument] = (), **overrides: Any) -> Declaration:
    """The example declaration with these goods items (the example's roses citing its certificate if none)."""
    fields = copy.deepcopy(DECLARATION_EXAMPLE)
    if items:
        fields["goods_items"] = list(items)
    fields.update(documents=list(documents), **overrides)
    return Declaration.model_validate(fields)


def certificate_line(
    sequence: int = 1, *, commodity_code: str | None = "060311", origin_countries: Iterable[str] = ("NL",)
) -> CertificateLineItem:
    return CertificateLineItem(
        sequence=sequence,
        scientific_name="Rosa",
        commodity_code=commodity_code,
        origin_countries=list(origin_countries),
    )


def certificate(
    number: str = CERTIFICATE_NUMBER,
    *,
    status: CertificateStatus = CertificateStatus.ISSUED,
    line_items: Iterable[CertificateLineItem] | None = None,
    **overrides: Any,
) -> Certificate:
    """The example certificate for the example's roses."""
    fields = copy.deepcopy(CERTIFICATE_EXAMPLE)
    fields.update(number=number, status=status, **overrides)
    if line_items is not None:
        fields["line_items"] = list(line_items)
    return Certificate.model_validate(fields)


def reason(code: str = "CERTIFICATE_AWAITED", text: str = "waiting for the certificate") -> Reason:
    return Reason(code=code, text=text)


def agency_decision(
    agency: str,
    outcome: Outcome,
    *,
    sequence: int = 1,
    declaration_version: int = 1,
    reasons: Iterable[Reason] = (),
) -> AgencyDecision:
    return AgencyDecision(
        agency=agency,
        declaration_version=declaration_version,
        sequence=sequence,
        outcome=outcome,
        reasons=tuple(reasons),
    )


DECLARATION_ID = "01JD0000000000000000000000"


def declaration_submitted(**overrides: Any) -> DeclarationSubmitted:
    fields: dict[str, Any] = {
        "declaration_id": DECLARATION_ID,
        "version": 1,
        "declaration": declaration(),
        "required_agencies": ["customs", "phyto"],
        "routing_version": "2026.1",
        "submitted_at": AT,
        **overrides,
    }
    return DeclarationSubmitted.model_validate(fields)


def certificate_received(**overrides: Any) -> CertificateReceived:
    fields: dict[str, Any] = {
        "certificate_id": "01JC0000000000000000000000",
        "certificate": certificate(),
        "received_at": AT,
        **overrides,
    }
    return CertificateReceived.model_validate(fields)


def agency_decision_made(**overrides: Any) -> AgencyDecisionMade:
    fields: dict[str, Any] = {
        "agency": "phyto",
        "declaration_id": DECLARATION_ID,
        "declaration_version": 1,
        "sequence": 1,
        "outcome": Outcome.HELD,
        "reasons": [reason()],
        "details": {"awaited_certificates": [CERTIFICATE_NUMBER]},
        "rules_version": "2026.11-1",
        "decided_at": AT,
        **overrides,
    }
    return AgencyDecisionMade.model_validate(fields)


def clearance_decided(**overrides: Any) -> ClearanceDecided:
    fields: dict[str, Any] = {
        "declaration_id": DECLARATION_ID,
        "declaration_version": 1,
        "status": ClearanceStatus.UNDER_CONTROL,
        "agencies": [
            AgencyStanding(agency="customs", outcome=Outcome.RELEASED, sequence=1),
            AgencyStanding(agency="phyto", outcome=None),
        ],
        "reasons": [reason("AGENCY_PENDING", "waiting for phyto")],
        "decided_at": AT,
        **overrides,
    }
    return ClearanceDecided.model_validate(fields)
