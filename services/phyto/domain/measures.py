"""What the import requirements ask of a certificate for one goods item (pure): a permitted point of entry, and
for each pest of concern an additional declaration or a treatment that answers it."""

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from services.contract.certificate import Certificate, CertificateLineItem, SpsNote, Treatment
from services.contract.declaration import Declaration, GoodsItem
from services.contract.events import Reason
from services.phyto.domain.reasons import Code, reason
from services.phyto.domain.requirements import (
    AdditionalDeclaration,
    ImportRequirements,
    Measure,
    PestOfConcern,
    TreatmentRequirement,
)

TREATMENT_TYPE = "TTFT"
TEMPERATURE = "TTTM"
_MEASURE = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([A-Z0-9]{2,3})?\s*$")
_HOURS = {"HUR": Decimal(1), "MIN": Decimal(1) / 60, "SEC": Decimal(1) / 3600, "DAY": Decimal(24)}


def _measure(text: str | None) -> tuple[Decimal, str | None] | None:
    """A value such as '32.0000 CEL' or '3 HUR': the number and its unit code."""
    match = _MEASURE.match(text or "")
    if match is None:
        return None
    try:
        return Decimal(match.group(1)), match.group(2)
    except InvalidOperation:
        return None


def celsius(treatment: Treatment) -> Decimal | None:
    for characteristic in treatment.characteristics:
        if characteristic.code == TEMPERATURE and (measured := _measure(characteristic.value)) is not None:
            value, unit = measured
            return (value - 32) * 5 / 9 if unit == "FAH" else value
    return None


def hours(treatment: Treatment) -> Decimal | None:
    measured = _measure(treatment.duration)
    if measured is None:
        return None
    value, unit = measured
    return value * _HOURS[unit] if unit in _HOURS else None


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def is_kind(treatment: Treatment, required: TreatmentRequirement) -> bool:
    """The treatment is of the required kind: by its type code, or by a name in its TTFT characteristic."""
    if treatment.type_code in required.type_codes:
        return True
    described = " ".join(_folded(c.value or "") for c in treatment.characteristics if c.code == TREATMENT_TYPE)
    return any(re.search(rf"\b{re.escape(_folded(name))}\b", described) for name in required.type_names)


def shortfalls(treatment: Treatment, required: TreatmentRequirement) -> list[str]:
    """What the treatment lacks of the required characteristics; none when it is effective."""
    lacking = []
    temperature = celsius(treatment)
    if required.min_temperature_celsius is not None and (
        temperature is None or temperature < required.min_temperature_celsius
    ):
        lacking.append(f"temperature {_shown(temperature, '°C')}, at least {required.min_temperature_celsius} °C")
    if required.max_temperature_celsius is not None and (
        temperature is None or temperature > required.max_temperature_celsius
    ):
        lacking.append(f"temperature {_shown(temperature, '°C')}, at most {required.max_temperature_celsius} °C")
    duration = hours(treatment)
    if required.min_duration_hours is not None and (duration is None or duration < required.min_duration_hours):
        lacking.append(f"duration {_shown(duration, 'h')}, at least {required.min_duration_hours} h")
    return lacking


def _shown(value: Decimal | None, unit: str) -> str:
    return "not stated" if value is None else f"{value.normalize():f} {unit}"


def declares(notes: Iterable[SpsNote], required: AdditionalDeclaration) -> bool:
    texts = [_folded(note.content) for note in notes if note.subject in required.subjects]
    return any(_folded(statement) in text for statement in required.statements for text in texts)


def lines_for(item: GoodsItem, certificate: Certificate) -> list[CertificateLineItem]:
    """The certificate lines that certify the item (same HS6, or none stated, and its origin); else every line."""
    lines = [
        line
        for line in certificate.line_items
        if (line.commodity_code is None or line.commodity_code[:6] == item.hs6)
        and item.origin_country in line.origin_countries
    ]
    return lines or list(certificate.line_items)


def _notes(certificate: Certificate, line: CertificateLineItem) -> list[SpsNote]:
    treatment_notes = [note for treatment in line.treatments for note in treatment.additional_information]
    return [*certificate.notes, *line.additional_information, *treatment_notes]


def _answers(measure: Measure, certificate: Certificate, line: CertificateLineItem) -> bool:
    if measure.additional_declaration is not None and not declares(
        _notes(certificate, line), measure.additional_declaration
    ):
        return False
    if measure.treatment is not None:
        required = measure.treatment
        return any(is_kind(t, required) and not shortfalls(t, required) for t in line.treatments)
    return True


def _unanswered(pest: PestOfConcern, item: GoodsItem, certificate: Certificate, line: CertificateLineItem) -> Reason:
    where = f"goods item {item.sequence} ({item.commodity_code} from {item.origin_country}), certificate " + (
        f"{certificate.number} line {line.sequence}"
    )
    treatments = [m.treatment for m in pest.measures if m.treatment is not None]
    inadequate = [
        f"{required.name}: {'; '.join(shortfalls(t, required))}"
        for required in treatments
        for t in line.treatments
        if is_kind(t, required) and shortfalls(t, required)
    ]
    if inadequate:
        return reason(Code.TREATMENT_INADEQUATE, f"{where}: {pest.pest} needs an effective treatment: {inadequate[0]}")
    if all(m.treatment is None for m in pest.measures):
        statements = [s for m in pest.measures if m.additional_declaration for s in m.additional_declaration.statements]
        return reason(
            Code.ADDITIONAL_DECLARATION_MISSING,
            f"{where}: {pest.pest} needs an additional declaration stating one of: {'; '.join(statements)}",
        )
    if all(m.additional_declaration is None for m in pest.measures):
        names = [t.name for t in treatments]
        return reason(Code.TREATMENT_MISSING, f"{where}: {pest.pest} needs one of these treatments: {', '.join(names)}")
    return reason(
        Code.PEST_MEASURE_MISSING,
        f"{where}: {pest.pest} needs one of: {'; '.join(_described(m) for m in pest.measures)}",
    )


def _described(measure: Measure) -> str:
    parts = []
    if measure.treatment is not None:
        parts.append(measure.treatment.name)
    if measure.additional_declaration is not None:
        parts.append(f"additional declaration '{measure.additional_declaration.statements[0]}'")
    return " and ".join(parts)


def pest_measures(requirements: ImportRequirements, item: GoodsItem, certificate: Certificate) -> list[Reason]:
    """Every pest of concern for the item's origin and commodity is answered on a line certifying the item."""
    lines = lines_for(item, certificate)
    found = []
    for pest in requirements.pests_of_concern(item.origin_country, item.commodity_code):
        if not any(_answers(measure, certificate, line) for line in lines for measure in pest.measures):
            found.append(_unanswered(pest, item, certificate, lines[0]))
    return found


def point_of_entry(
    requirements: ImportRequirements, declaration: Declaration, item: GoodsItem, certificate: Certificate
) -> list[Reason]:
    """Goods of a category with permitted points of entry enter at one of them (the declared one, else the one
    the certificate names)."""
    category = requirements.category_of(item.commodity_code)
    permitted = requirements.points_of_entry.get(category or "")
    if not permitted:
        return []
    where = declaration.point_of_entry or certificate.point_of_entry
    if where is None:
        return [
            reason(
                Code.POINT_OF_ENTRY_MISSING,
                f"goods item {item.sequence} ({category}): neither the declaration nor certificate "
                f"{certificate.number} names the point of entry; permitted: {', '.join(permitted)}",
            )
        ]
    if where.upper() not in permitted:
        return [
            reason(
                Code.POINT_OF_ENTRY_NOT_PERMITTED,
                f"goods item {item.sequence} ({category}): {where} is not a permitted point of entry; permitted: "
                f"{', '.join(permitted)}",
            )
        ]
    return []
