"""Whose a phytosanitary certificate is (pure): a certificate belongs to the consignment it was issued for, and a
trader reads it through a declaration of that consignment, not through any declaration that cites its number."""

from collections.abc import Iterable

from services.contract.certificate import Certificate
from services.contract.declaration import Declaration, cited_certificates, normalised_name


def issued_for(declaration: Declaration, certificate: Certificate) -> bool:
    """True when the certificate is the one for the declaration's consignment, by the parties as plant health
    matches them (services/phyto/domain/matching.py): a goods item relies on its number, the declaration names its
    importer as the certificate's consignee (names compared normalised), and every goods item relying on it was
    exported from the issuing country where the declaration states a country of export.

    Unlike plant health, an importer known by its EORI alone is not taken for the consignee: certificate numbers
    can be guessed, and only a name ties the consignment to a certificate. The goods are not compared: a
    certificate whose goods differ is still the trader's to read (plant health holds the goods for it).
    """
    relying = [item for item in declaration.goods_items if certificate.number in cited_certificates(declaration, item)]
    importer = declaration.importer.name
    if not relying or importer is None:
        return False
    consignee = normalised_name(certificate.consignee.name)
    if not consignee or normalised_name(importer) != consignee:  # "Ltd" or "-" names no one
        return False
    return all(
        (item.export_country or declaration.export_country) in (None, certificate.issuing_country) for item in relying
    )


def readable_through(declarations: Iterable[Declaration], certificate: Certificate) -> bool:
    """A trader reads a certificate when one of its declarations citing it is for the consignment it was issued for."""
    return any(issued_for(declaration, certificate) for declaration in declarations)
