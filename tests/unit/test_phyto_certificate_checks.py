"""Checks of a phytosanitary certificate on its own: each rule with its reason code."""

from datetime import date, datetime, timedelta

import pytest

from services.contract.certificate import Certificate, CertificateType, Signatory, SpsNote
from services.contract.declaration import Quantity
from services.contract.rules_file import load_rules
from services.phyto.domain import certificate_checks as checks
from services.phyto.domain.requirements import CertificateLimits, ImportRequirements
from tests.unit.builders import AT, IMPORT_REQUIREMENTS, certificate, certificate_line

LIMITS = CertificateLimits(max_age_days=14, signatory_required=True)
SIGNED = Signatory(person_name="J. de Vries", signed_on=date(2026, 11, 20))


@pytest.fixture(scope="module")
def requirements() -> ImportRequirements:
    return load_rules(IMPORT_REQUIREMENTS, ImportRequirements)


def codes(reasons) -> list[str]:
    return [r.code for r in reasons]


def test_the_example_certificate_passes_every_check(requirements):
    signed = certificate(signatory=SIGNED)
    assert checks.check_certificate(signed, requirements, importing_country="GB", lodged_at=AT, now=AT) == []


class TestIssuingCountry:
    def test_unknown_nppo_country(self, requirements):
        assert codes(checks.issuing_country(certificate(issuing_country="XX"), requirements, "GB")) == [
            "ISSUING_COUNTRY_UNKNOWN"
        ]

    def test_a_country_does_not_certify_its_own_imports(self, requirements):
        assert codes(checks.issuing_country(certificate(issuing_country="GB"), requirements, "GB")) == [
            "ISSUED_BY_IMPORTING_COUNTRY"
        ]

    def test_a_re_export_may_come_from_the_importing_country(self, requirements):
        reexport = certificate(issuing_country="GB", type=CertificateType.RE_EXPORT)
        assert checks.issuing_country(reexport, requirements, "GB") == []


def test_certificate_addressed_to_another_country():
    [reason] = checks.addressed_here(certificate(importing_country="IE"), "GB")
    assert reason.code == "CERTIFICATE_NOT_ADDRESSED_HERE"
    assert reason.text == "certificate NL-2026-000123 is addressed to IE, not GB"


class TestDates:
    def test_missing_date_of_issue(self):
        assert codes(checks.dates(certificate(issued_at=None), LIMITS, AT, AT)) == ["ISSUE_DATE_MISSING"]

    def test_issued_in_the_future(self):
        later = AT + timedelta(hours=2)
        assert codes(checks.dates(certificate(issued_at=later.isoformat()), LIMITS, AT, AT)) == ["ISSUE_DATE_IN_FUTURE"]

    def test_a_few_minutes_of_clock_skew_are_tolerated(self):
        assert checks.dates(certificate(issued_at=(AT + timedelta(minutes=5)).isoformat()), LIMITS, AT, AT) == []

    def test_a_date_only_in_a_zone_ahead_is_not_the_future(self):
        tomorrow = certificate(issued_at=None, issued_on=(AT + timedelta(days=1)).date())
        assert checks.dates(tomorrow, LIMITS, AT, AT) == []

    @pytest.mark.parametrize(("days", "expected"), [(14, []), (15, ["CERTIFICATE_TOO_OLD"])])
    def test_age_is_counted_to_the_lodgement(self, days, expected):
        lodged = datetime.fromisoformat("2026-11-20T08:30:00+00:00") + timedelta(days=days)
        assert codes(checks.dates(certificate(), LIMITS, lodged, lodged)) == expected

    def test_no_age_limit_when_the_requirements_set_none(self):
        lodged = AT + timedelta(days=400)
        assert checks.dates(certificate(), CertificateLimits(max_age_days=None), lodged, lodged) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"consignor": {"name": "NULL"}}, ["CONSIGNOR_MISSING"]),
        ({"consignee": {"name": "n/a"}}, ["CONSIGNEE_MISSING"]),
        ({"consignor": {"name": "-"}, "consignee": {"name": "Unknown"}}, ["CONSIGNOR_MISSING", "CONSIGNEE_MISSING"]),
        ({}, []),
    ],
)
def test_consignor_and_consignee_are_named(changes, expected):
    assert codes(checks.parties(certificate(**changes))) == expected


@pytest.mark.parametrize(
    "name",
    [
        "Rosa",
        "Mangifera indica",
        "Ribes alpinum 'Schmidt'",
        "Citrus \u00d7sinensis",
        "Rosa spp.",
        "Prunus avium var. duracina",
    ],
)
def test_well_formed_botanical_names(name):
    line = certificate_line().model_copy(update={"scientific_name": name})
    assert checks.botanical_names(certificate(line_items=[line])) == []


@pytest.mark.parametrize(
    "name", ["rosa", "RIBES ALPINUM", "Mangifera Indica", "Roses (cut)", "Rosa indica chinensis x"]
)
def test_malformed_botanical_names(name):
    line = certificate_line().model_copy(update={"scientific_name": name})
    [reason] = checks.botanical_names(certificate(line_items=[line]))
    assert reason.code == "BOTANICAL_NAME_INVALID"
    assert repr(name) in reason.text


def test_quantity_in_an_unknown_unit(requirements):
    line = certificate_line().model_copy(update={"net_quantity": Quantity(value=1, unit="XYZ")})
    assert codes(checks.quantities(certificate(line_items=[line]), requirements)) == ["QUANTITY_UNIT_UNKNOWN"]


def test_quantity_in_a_known_unit(requirements):
    assert checks.quantities(certificate(), requirements) == []


class TestSignatory:
    def test_missing_when_required(self):
        assert codes(checks.signatory(certificate(), LIMITS)) == ["SIGNATORY_MISSING"]

    def test_missing_is_accepted_when_not_required(self):
        assert checks.signatory(certificate(), CertificateLimits(signatory_required=False)) == []

    def test_unnamed(self):
        assert codes(checks.signatory(certificate(signatory=Signatory(signed_on=AT.date())), LIMITS)) == [
            "SIGNATORY_NAME_MISSING"
        ]

    def test_undated_signature_takes_the_date_of_issue(self):
        assert checks.signatory(certificate(signatory=Signatory(person_name="J. de Vries")), LIMITS) == []

    def test_undated_signature_on_an_undated_certificate(self):
        unsigned = certificate(signatory=Signatory(person_name="J. de Vries"), issued_at=None)
        assert codes(checks.signatory(unsigned, LIMITS)) == ["SIGNATORY_UNDATED"]


class TestReExport:
    def reexport(self, origins, notes=()) -> Certificate:
        line = certificate_line(origin_countries=origins).model_copy(update={"additional_information": list(notes)})
        return certificate(type=CertificateType.RE_EXPORT, issuing_country="NL", line_items=[line])

    def test_original_country_as_an_origin(self):
        assert checks.re_export_origin(self.reexport(["KE"])) == []

    def test_original_country_in_an_rpcco_note(self):
        assert checks.re_export_origin(self.reexport(["NL"], [SpsNote(subject="RPCCO", content="KE")])) == []

    def test_no_original_country(self):
        assert codes(checks.re_export_origin(self.reexport(["NL"]))) == ["REEXPORT_ORIGIN_MISSING"]

    def test_re_export_gets_every_other_check_too(self, requirements):
        reexport = self.reexport(["NL"]).model_copy(update={"importing_country": "IE"})
        assert codes(
            checks.check_certificate(reexport, requirements, importing_country="GB", lodged_at=AT, now=AT)
        ) == ["CERTIFICATE_NOT_ADDRESSED_HERE", "REEXPORT_ORIGIN_MISSING"]
