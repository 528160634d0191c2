"""Plant-health assessment of a declaration against the certificates it cites. Pure: no I/O."""

from collections.abc import Mapping
from dataclasses import dataclass

from services.contract.certificate import Certificate, CertificateStatus
from services.contract.declaration import PHYTOSANITARY_CERTIFICATE, Declaration, GoodsItem
from services.contract.events import Outcome, Reason
from services.phyto.domain.requirements import ImportRequirements


@dataclass(frozen=True)
class Mismatch:
    """A difference between a goods item and the certificate it cites."""

    goods_item: int
    certificate: str
    field: str
    declared: str
    certified: str


@dataclass(frozen=True)
class PhytoAssessment:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    mismatches: tuple[Mismatch, ...]
    awaited: tuple[str, ...]


def cited_certificates(declaration: Declaration, item: GoodsItem) -> list[str]:
    """Certificate numbers an item relies on: its own N851 documents, else the declaration's."""
    own = [doc.id for doc in item.documents if doc.code == PHYTOSANITARY_CERTIFICATE]
    header = [doc.id for doc in declaration.documents if doc.code == PHYTOSANITARY_CERTIFICATE]
    return own or header


def _compare(item: GoodsItem, certificate: Certificate) -> list[Mismatch]:
    found: list[Mismatch] = []
    origins = sorted({country for line in certificate.line_items for country in line.origin_countries})
    if item.origin_country not in origins:
        found.append(Mismatch(item.sequence, certificate.number, "origin", item.origin_country, ",".join(origins)))
    codes = sorted({line.commodity_code[:6] for line in certificate.line_items if line.commodity_code})
    if codes and item.hs6 not in codes:
        found.append(Mismatch(item.sequence, certificate.number, "commodity_code", item.hs6, ",".join(codes)))
    return found


def assess(
    requirements: ImportRequirements, declaration: Declaration, certificates: Mapping[str, Certificate]
) -> PhytoAssessment:
    """Released when every regulated item cites a received, valid certificate that matches it; else why not."""
    regulated = [item for item in declaration.goods_items if requirements.category_of(item.commodity_code)]
    if not regulated:
        reason = Reason(code="NO_REGULATED_GOODS", text="no goods item is a regulated plant product")
        return PhytoAssessment(Outcome.NOT_CONCERNED, (reason,), (), ())
    reasons: list[Reason] = []
    mismatches: list[Mismatch] = []
    awaited: list[str] = []
    for item in regulated:
        numbers = cited_certificates(declaration, item)
        if not numbers:
            reasons.append(
                Reason(
                    code="CERTIFICATE_NOT_CITED",
                    text=f"goods item {item.sequence} ({item.commodity_code}) is a regulated plant product "
                    "and cites no phytosanitary certificate (N851)",
                )
            )
        for number in numbers:
            certificate = certificates.get(number)
            if certificate is None:
                awaited.append(number)
            elif certificate.status is CertificateStatus.WITHDRAWN:
                reasons.append(Reason(code="CERTIFICATE_WITHDRAWN", text=f"certificate {number} was withdrawn"))
            else:
                mismatches.extend(_compare(item, certificate))
    for number in dict.fromkeys(awaited):
        reasons.append(
            Reason(
                code="CERTIFICATE_AWAITED",
                text=f"waiting for phytosanitary certificate {number} from the exporting NPPO",
            )
        )
    for mismatch in mismatches:
        reasons.append(
            Reason(
                code="CERTIFICATE_MISMATCH",
                text=f"goods item {mismatch.goods_item}: {mismatch.field} {mismatch.declared} is not on certificate "
                f"{mismatch.certificate} ({mismatch.certified})",
            )
        )
    outcome = Outcome.HELD if reasons else Outcome.RELEASED
    return PhytoAssessment(outcome, tuple(reasons), tuple(mismatches), tuple(dict.fromkeys(awaited)))
