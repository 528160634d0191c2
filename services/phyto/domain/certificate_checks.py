"""Checks of a phytosanitary certificate on its own (pure): who issued it, to whom, when, for what, signed by whom.

Each check returns the reasons it fails with, none when it passes; `check_certificate` runs them all.
"""

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from services.contract.certificate import Certificate, CertificateType, SpsParty
from services.contract.events import Reason
from services.phyto.domain.reasons import Code, reason
from services.phyto.domain.requirements import CertificateLimits, ImportRequirements

# NPPO clocks and ours differ a little; a date without a time may be stated in a zone up to UTC+14.
CLOCK_SKEW = timedelta(hours=1)
EARLIEST_ZONE = timedelta(hours=14)
PLACEHOLDERS = frozenset({"null", "none", "n/a", "na", "-", "unknown", "xxx"})
BOTANICAL_NAME = re.compile(
    r"^[A-Z][a-z]+(-[a-z]+)?"  # genus, capitalised
    r"( (\u00d7 ?|x )?[a-z]+(-[a-z]+)?| spp?\.)?"  # species epithet (hybrid marked), or sp./spp.
    r"( (subsp|ssp|var|f|cv)\. [A-Za-z][a-z-]*| '[^']+')*$"  # infraspecific ranks and cultivars
)
REEXPORT_ORIGIN_NOTE = "RPCCO"


def issuing_country(certificate: Certificate, requirements: ImportRequirements, importing_country: str) -> list[Reason]:
    """Issued by a known NPPO, and not by the importing country itself unless it re-exports (657)."""
    found = []
    if certificate.issuing_country not in requirements.nppo_countries:
        found.append(
            reason(
                Code.ISSUING_COUNTRY_UNKNOWN,
                f"certificate {certificate.number}: {certificate.issuing_country} is not a known NPPO country",
            )
        )
    if certificate.type is CertificateType.PHYTOSANITARY and certificate.issuing_country == importing_country:
        found.append(
            reason(
                Code.ISSUED_BY_IMPORTING_COUNTRY,
                f"certificate {certificate.number}: a phytosanitary certificate (851) for imports into "
                f"{importing_country} cannot be issued by {importing_country}; a re-export would be a 657",
            )
        )
    return found


def addressed_here(certificate: Certificate, importing_country: str) -> list[Reason]:
    if certificate.importing_country == importing_country:
        return []
    return [
        reason(
            Code.CERTIFICATE_NOT_ADDRESSED_HERE,
            f"certificate {certificate.number} is addressed to {certificate.importing_country}, "
            f"not {importing_country}",
        )
    ]


def issue_date(certificate: Certificate) -> date | None:
    """The date of issue as the certificate states it."""
    if certificate.issued_on is not None:
        return certificate.issued_on
    return None if certificate.issued_at is None else certificate.issued_at.date()


def dates(certificate: Certificate, limits: CertificateLimits, lodged_at: datetime, now: datetime) -> list[Reason]:
    """Issued, not in the future, and not longer before the lodgement than the requirements allow."""
    issued = issue_date(certificate)
    if issued is None:
        return [reason(Code.ISSUE_DATE_MISSING, f"certificate {certificate.number} states no date of issue")]
    future = (
        certificate.issued_at > now + CLOCK_SKEW
        if certificate.issued_at is not None
        else issued > (now + EARLIEST_ZONE).date()
    )
    if future:
        return [reason(Code.ISSUE_DATE_IN_FUTURE, f"certificate {certificate.number} is dated {issued}, in the future")]
    age = (lodged_at.date() - issued).days
    if limits.max_age_days is not None and age > limits.max_age_days:
        return [
            reason(
                Code.CERTIFICATE_TOO_OLD,
                f"certificate {certificate.number} was issued on {issued}, {age} days before the declaration was "
                f"lodged on {lodged_at.date()}; at most {limits.max_age_days} days are accepted",
            )
        ]
    return []


def _named(party: SpsParty) -> bool:
    return party.name.strip().casefold() not in PLACEHOLDERS


def parties(certificate: Certificate) -> list[Reason]:
    """The consignor and the consignee are named (not by a placeholder such as NULL)."""
    found = []
    for code, role, party in (
        (Code.CONSIGNOR_MISSING, "consignor", certificate.consignor),
        (Code.CONSIGNEE_MISSING, "consignee", certificate.consignee),
    ):
        if not _named(party):
            found.append(reason(code, f"certificate {certificate.number} does not name its {role} ({party.name!r})"))
    return found


def botanical_names(certificate: Certificate) -> list[Reason]:
    """Each line names a genus (capitalised), or a genus and species, as a botanist writes it."""
    return [
        reason(
            Code.BOTANICAL_NAME_INVALID,
            f"certificate {certificate.number} line {line.sequence}: {line.scientific_name!r} is not a botanical "
            "name (a capitalised genus, optionally a lower-case species, e.g. 'Mangifera indica')",
        )
        for line in certificate.line_items
        if not BOTANICAL_NAME.match(line.scientific_name.strip())
    ]


def quantities(certificate: Certificate, requirements: ImportRequirements) -> list[Reason]:
    """Net quantities are in known UN/ECE Rec 20 units (the contract already makes them positive)."""
    known = requirements.quantity_units
    return [
        reason(
            Code.QUANTITY_UNIT_UNKNOWN,
            f"certificate {certificate.number} line {line.sequence}: unit {line.net_quantity.unit} is not one of "
            f"{', '.join(sorted(known))}",
        )
        for line in certificate.line_items
        if line.net_quantity is not None and line.net_quantity.unit not in known
    ]


def signatory(certificate: Certificate, limits: CertificateLimits) -> list[Reason]:
    """Signed by a named officer, on a date: the signature's own, else the certificate's date of issue."""
    signed = certificate.signatory
    if signed is None:
        if not limits.signatory_required:
            return []
        return [reason(Code.SIGNATORY_MISSING, f"certificate {certificate.number} has no signatory")]
    found = []
    if signed.person_name is None or signed.person_name.strip().casefold() in PLACEHOLDERS:
        found.append(
            reason(Code.SIGNATORY_NAME_MISSING, f"certificate {certificate.number}: the signatory is not named")
        )
    if signed.signed_at is None and signed.signed_on is None and issue_date(certificate) is None:
        found.append(reason(Code.SIGNATORY_UNDATED, f"certificate {certificate.number}: the signature is not dated"))
    return found


def re_export_origin(certificate: Certificate) -> list[Reason]:
    """A re-export certificate (657) names, on each line, the country the goods came from originally."""
    if certificate.type is not CertificateType.RE_EXPORT:
        return []
    return [
        reason(
            Code.REEXPORT_ORIGIN_MISSING,
            f"re-export certificate {certificate.number} line {line.sequence}: no original country (an origin other "
            f"than {certificate.issuing_country}, or an {REEXPORT_ORIGIN_NOTE} note)",
        )
        for line in certificate.line_items
        if set(line.origin_countries) <= {certificate.issuing_country}
        and not any(note.subject == REEXPORT_ORIGIN_NOTE for note in line.additional_information)
    ]


def check_certificate(
    certificate: Certificate,
    requirements: ImportRequirements,
    *,
    importing_country: str,
    lodged_at: datetime,
    now: datetime,
) -> list[Reason]:
    """Every check of the certificate on its own, in a fixed order."""
    limits = requirements.certificate
    checks: Iterable[list[Reason]] = (
        issuing_country(certificate, requirements, importing_country),
        addressed_here(certificate, importing_country),
        dates(certificate, limits, lodged_at, now),
        parties(certificate),
        botanical_names(certificate),
        quantities(certificate, requirements),
        signatory(certificate, limits),
        re_export_origin(certificate),
    )
    return [found for check in checks for found in check]
