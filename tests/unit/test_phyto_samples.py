"""The real ePhyto sample (123ABC, Ribes from AR and US to EC) against a real HMRC declaration citing it.

The samples stay in ../shared/samples (outside the project); these tests skip, saying why, when they are absent.
"""

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.contract.certificate import Certificate, SpsNote
from services.contract.declaration import Declaration
from services.contract.events import Outcome
from services.contract.rules_file import load_rules
from services.gateway.adapters.ephyto_xml import parse_certificate_xml
from services.gateway.adapters.wco_declaration_xml import parse_declaration_xml
from services.phyto.domain.assessment import PhytoRules, assess
from services.phyto.domain.matching import Mismatch
from services.phyto.domain.requirements import ImportRequirements, Inspections
from tests.unit.builders import IMPORT_REQUIREMENTS, INSPECTION_DRAW

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("SW_SAMPLES", ROOT.parent / "shared" / "samples"))
LODGED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SHIPPED = load_rules(IMPORT_REQUIREMENTS, ImportRequirements)
# The shipped requirements without the inspection draw (tested on its own), so the reasons are the documents'
# alone, and with the age limit many borders set (the shipped example sets none).
RULES = PhytoRules(
    SHIPPED.model_copy(
        update={
            "inspections": Inspections(base_rate=Decimal(0)),
            "certificate": SHIPPED.certificate.model_copy(update={"max_age_days": 14}),
        }
    ),
    "GB",
    INSPECTION_DRAW,
)


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"real sample {path} is absent (set SW_SAMPLES to the shared samples folder)")
    return path.read_bytes()


@pytest.fixture(scope="module")
def ribes() -> Certificate:
    return parse_certificate_xml(sample("ephyto/SPSCertificateContent.xml")).certificate


def citing(declaration: Declaration, number: str) -> Declaration:
    """The declaration with its goods items' N851 documents pointing at `number`."""
    body = declaration.model_dump(mode="json")
    for item in body["goods_items"]:
        for document in item["documents"]:
            if document["category_code"] + document["type_code"] == "N851":
                document["id"] = number
    return Declaration.model_validate(body)


def test_outdoor_plants_from_nl_citing_the_argentine_ribes_certificate(ribes: Certificate) -> None:
    plants = citing(parse_declaration_xml(sample("declarations/TT_IM075a.xml")), ribes.number)
    assessment = assess(
        RULES, "01JSAMPLE00000000000000000", plants, {ribes.number: ribes}, lodged_at=LODGED, now=LODGED
    )
    assert assessment.outcome is Outcome.HELD
    # Exported from NL, the certificate from AR: not this consignment's, so its goods are not compared.
    assert assessment.mismatches == (Mismatch(1, "123ABC", "export_country", "NL", "AR"),)
    assert [r.code for r in assessment.reasons] == [
        "CERTIFICATE_NOT_ADDRESSED_HERE",  # to EC
        "CERTIFICATE_TOO_OLD",  # issued 2016-04-22
        "POINT_OF_ENTRY_NOT_PERMITTED",  # USSEA, not a port for plants for planting
        "CERTIFICATE_MISMATCH",
    ]
    assert assessment.awaited == ()


def test_a_pair_matching_the_sample_certificate_is_released(ribes: Certificate) -> None:
    """Ribes of AR origin, exported by AR to GB through Dover, issued on the day of lodgement, with the additional
    declaration Xylella fastidiosa asks of plants for planting from AR."""
    first, *others = ribes.line_items
    declared_free = SpsNote(
        subject="ADTLIL", content="The plants were grown in a place officially free from Xylella fastidiosa."
    )
    first = first.model_copy(update={"additional_information": [*first.additional_information, declared_free]})
    certificate = ribes.model_copy(
        update={
            "importing_country": "GB",
            "point_of_entry": "GBDVR",
            "issued_at": None,
            "issued_on": LODGED.date(),
            "line_items": [first, *others],
        }
    )
    declared = parse_declaration_xml(sample("declarations/TT_IM075a.xml")).model_dump(mode="json")
    declared["export_country"] = "AR"
    declared["point_of_entry"] = "GBDVR"
    declared["goods_items"][0] |= {"origin_country": "AR", "net_mass_kg": "10.5", "gross_mass_kg": "12"}
    plants = citing(Declaration.model_validate(declared), ribes.number)
    assessment = assess(
        RULES, "01JSAMPLE00000000000000001", plants, {ribes.number: certificate}, lodged_at=LODGED, now=LODGED
    )
    assert assessment.reasons == ()
    assert assessment.outcome is Outcome.RELEASED
