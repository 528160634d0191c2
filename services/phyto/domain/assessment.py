"""Plant-health assessment of a declaration against the certificates it cites (pure): refused for a prohibited
origin and commodity, held while a certificate is awaited, fails a check or does not match, or when drawn for
inspection; released otherwise; not concerned when no goods item is a regulated plant product."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.contract.certificate import Certificate, CertificateStatus
from services.contract.declaration import Declaration, cited_certificates
from services.contract.events import Outcome, Reason
from services.contract.keyed_draw import KeyedDraw
from services.phyto.domain.certificate_checks import check_certificate
from services.phyto.domain.matching import Mismatch, compare
from services.phyto.domain.measures import pest_measures, point_of_entry
from services.phyto.domain.reasons import Code, reason
from services.phyto.domain.requirements import ImportRequirements


@dataclass(frozen=True)
class PhytoRules:
    """What phyto decides with: the import requirements in force, the border it guards, the inspection draw."""

    requirements: ImportRequirements
    importing_country: str
    draw: KeyedDraw

    @property
    def version(self) -> str:
        return self.requirements.version


@dataclass(frozen=True)
class Inspection:
    """The inspection draw of a consignment whose certificates are all in: the rate it was drawn at."""

    rate: Decimal
    high_risk: bool
    selected: bool


@dataclass(frozen=True)
class PhytoAssessment:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    mismatches: tuple[Mismatch, ...]
    awaited: tuple[str, ...]
    inspection: Inspection | None = None


def _mismatch_reason(mismatch: Mismatch) -> Reason:
    return reason(
        Code.CERTIFICATE_MISMATCH,
        f"goods item {mismatch.goods_item}: {mismatch.field} {mismatch.declared} does not match certificate "
        f"{mismatch.certificate} ({mismatch.certified})",
    )


def assess(
    rules: PhytoRules,
    declaration_id: str,
    declaration: Declaration,
    certificates: Mapping[str, Certificate],
    *,
    lodged_at: datetime,
    now: datetime,
) -> PhytoAssessment:
    """The decision on one declaration version, with every reason; the same inputs always give the same answer."""
    requirements = rules.requirements
    regulated = [item for item in declaration.goods_items if requirements.category_of(item.commodity_code)]
    if not regulated:
        none = reason(Code.NO_REGULATED_GOODS, "no goods item is a regulated plant product")
        return PhytoAssessment(Outcome.NOT_CONCERNED, (none,), (), ())

    prohibited = [
        reason(
            Code.PROHIBITED_COMBINATION,
            f"goods item {item.sequence} ({item.commodity_code} from {item.origin_country}) may not be imported: "
            f"{rule.why}",
        )
        for item in regulated
        if (rule := requirements.prohibition(item.origin_country, item.commodity_code)) is not None
    ]
    if prohibited:
        return PhytoAssessment(Outcome.REFUSED, tuple(prohibited), (), ())

    documentary: list[Reason] = []  # missing or withdrawn certificates, failed checks, unmet requirements
    mismatches: list[Mismatch] = []
    awaited: list[str] = []
    checked: set[str] = set()
    for item in regulated:
        numbers = cited_certificates(declaration, item)
        if not numbers:
            documentary.append(
                reason(
                    Code.CERTIFICATE_NOT_CITED,
                    f"goods item {item.sequence} ({item.commodity_code}) is a regulated plant product "
                    "and cites no phytosanitary certificate (N851)",
                )
            )
        for number in numbers:
            certificate = certificates.get(number)
            if certificate is None:
                awaited.append(number)
                continue
            if certificate.status is CertificateStatus.WITHDRAWN:
                if number not in checked:
                    documentary.append(reason(Code.CERTIFICATE_WITHDRAWN, f"certificate {number} was withdrawn"))
                    checked.add(number)
                continue
            if number not in checked:
                documentary += check_certificate(
                    certificate, requirements, importing_country=rules.importing_country, lodged_at=lodged_at, now=now
                )
                checked.add(number)
            documentary += point_of_entry(requirements, declaration, item, certificate)
            documentary += pest_measures(requirements, item, certificate)
            mismatches += compare(requirements, declaration, item, certificate)

    reasons = documentary + [_mismatch_reason(mismatch) for mismatch in mismatches]
    awaited = list(dict.fromkeys(awaited))
    reasons += [
        reason(Code.CERTIFICATE_AWAITED, f"waiting for phytosanitary certificate {number} from the exporting NPPO")
        for number in awaited
    ]
    inspection = None
    if not awaited and not any(r.code in (Code.CERTIFICATE_NOT_CITED, Code.CERTIFICATE_WITHDRAWN) for r in reasons):
        inspection = _draw(rules, declaration_id, declaration)
        if inspection.selected:
            kind = "high-risk origin and commodity, " if inspection.high_risk else ""
            reasons.append(
                reason(
                    Code.INSPECTION_SELECTED,
                    f"selected for a plant-health inspection ({kind}rate {inspection.rate.normalize():f})",
                )
            )
    outcome = Outcome.HELD if reasons else Outcome.RELEASED
    return PhytoAssessment(outcome, tuple(reasons), tuple(mismatches), tuple(awaited), inspection)


def _draw(rules: PhytoRules, declaration_id: str, declaration: Declaration) -> Inspection:
    """One draw per declaration at the highest rate of its regulated items."""
    rates = [
        rules.requirements.inspection_rate(item.origin_country, item.commodity_code)
        for item in declaration.goods_items
        if rules.requirements.category_of(item.commodity_code)
    ]
    rate, high_risk = max(rates)
    return Inspection(rate, high_risk, rules.draw.selects(rate, rules.version, declaration_id))
