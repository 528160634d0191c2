"""Matching a goods item to the certificate it cites (pure): consignee, export country, origin, commodity,
quantity and point of entry. Every difference is a Mismatch.

The declaration carries no botanical name (the WCO goods item has only a free-text description), so commodities
compare by HS6 alone.
"""

from dataclasses import dataclass
from decimal import Decimal

from services.contract.certificate import Certificate
from services.contract.declaration import Declaration, GoodsItem, Quantity, normalised_name
from services.phyto.domain.requirements import ImportRequirements, QuantityUnit


@dataclass(frozen=True)
class Mismatch:
    """A difference between a goods item and the certificate it cites."""

    goods_item: int
    certificate: str
    field: str
    declared: str
    certified: str


def declared_quantity(item: GoodsItem) -> Quantity:
    """The net mass when declared (D.E. 6/1), else the item's quantity."""
    if item.net_mass_kg is not None:
        return Quantity(value=item.net_mass_kg, unit="KGM")
    return item.quantity


def certified_quantity(item: GoodsItem, certificate: Certificate, units: dict[str, QuantityUnit]) -> Quantity | None:
    """The net quantity of the lines certifying the item's HS6 (all lines when none states a code), in the first
    line's unit; None when a line states none or lines' units cannot be added up."""
    lines = [line for line in certificate.line_items if line.commodity_code and line.commodity_code[:6] == item.hs6]
    if not lines and not any(line.commodity_code for line in certificate.line_items):
        lines = list(certificate.line_items)
    stated = [line.net_quantity for line in lines if line.net_quantity is not None]
    if not stated:
        return None
    unit = stated[0].unit
    total = Decimal(0)
    for quantity in stated:
        converted = in_unit(quantity, unit, units)
        if converted is None:
            return None
        total += converted
    return Quantity(value=total, unit=unit)


def in_unit(quantity: Quantity, unit: str, units: dict[str, QuantityUnit]) -> Decimal | None:
    """The quantity in another unit of the same kind; None when either is unknown or they measure different things."""
    if quantity.unit == unit:
        return quantity.value
    source, target = units.get(quantity.unit), units.get(unit)
    if source is None or target is None or source.kind is not target.kind:
        return None
    return quantity.value * source.factor / target.factor


def _quantity(item: GoodsItem, certificate: Certificate, requirements: ImportRequirements) -> tuple[str, str] | None:
    certified = certified_quantity(item, certificate, requirements.quantity_units)
    if certified is None:
        return None
    declared = declared_quantity(item)
    value = in_unit(declared, certified.unit, requirements.quantity_units)
    if value is None:
        return None  # not comparable: a count against a mass, or a unit we do not know
    tolerance = requirements.certificate.quantity_tolerance
    if abs(value - certified.value) <= certified.value * tolerance:
        return None
    return f"{declared.value.normalize():f} {declared.unit}", f"{certified.value.normalize():f} {certified.unit}"


WITHHELD = "issued for another consignee; its contents are not shown"


def compare(
    requirements: ImportRequirements, declaration: Declaration, item: GoodsItem, certificate: Certificate
) -> list[Mismatch]:
    """Every field in which the item and the certificate disagree, in a fixed order. A certificate issued for
    another consignee or from another country is not this consignment's: that one difference is all that is said,
    and nothing of its contents (certificate numbers can be guessed; the reasons reach the declaring trader)."""
    found: list[Mismatch] = []

    def differ(field: str, declared: str, certified: str) -> None:
        found.append(Mismatch(item.sequence, certificate.number, field, declared, certified))

    if declaration.importer.name is not None and normalised_name(declaration.importer.name) != normalised_name(
        certificate.consignee.name
    ):
        differ("consignee", declaration.importer.name, WITHHELD)
        return found
    export_country = item.export_country or declaration.export_country
    if export_country is not None and export_country != certificate.issuing_country:
        differ("export_country", export_country, certificate.issuing_country)
        return found
    origins = sorted({country for line in certificate.line_items for country in line.origin_countries})
    if item.origin_country not in origins:
        differ("origin", item.origin_country, ",".join(origins))
    codes = sorted({line.commodity_code[:6] for line in certificate.line_items if line.commodity_code})
    if codes and item.hs6 not in codes:
        differ("commodity_code", item.hs6, ",".join(codes))
    elif (quantities := _quantity(item, certificate, requirements)) is not None:
        differ("quantity", *quantities)
    entry, certified_entry = declaration.point_of_entry, certificate.point_of_entry
    if entry is not None and certified_entry is not None and entry.upper() != certified_entry.upper():
        differ("point_of_entry", entry, certified_entry)
    return found
