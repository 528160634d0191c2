"""What the risk engine knows of a declaration: its items in national currency, its parties and their standing.

Built once per declaration from the declaration and the reference data, so that rules compare plain values.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.contract.declaration import Declaration, ReferencedDocument
from services.customs.domain.exchange_rates import ExchangeRates
from services.customs.domain.traders import AeoProgramme, TraderRegister
from services.customs.domain.watch_lists import WatchLists


@dataclass(frozen=True, slots=True)
class ItemFacts:
    sequence: int
    commodity_code: str
    """As declared, with the TARIC code when given."""
    origin: str
    value: Decimal
    """Customs value in national currency."""
    net_mass_kg: Decimal | None
    gross_mass_kg: Decimal | None
    documents: frozenset[str]
    """Codes (e.g. N851, C400) of the documents the item or the whole declaration cites and holds (see NOT_HELD)."""

    @property
    def hs6(self) -> str:
        return self.commodity_code[:6]

    @property
    def unit_value(self) -> Decimal | None:
        """Customs value per kilogram of net mass, when the net mass is known."""
        return self.value / self.net_mass_kg if self.net_mass_kg else None


@dataclass(frozen=True, slots=True)
class PartnerStanding:
    administration: str
    programme: str


@dataclass(frozen=True, slots=True)
class DeclarationFacts:
    declaration_id: str
    parties: frozenset[str]
    """Identifiers of the declarant, importer and exporter that have one."""
    watch_lists: frozenset[str]
    """Names of the watch lists a party is on."""
    aeo: AeoProgramme | None
    """The AEO programme of the declarant or importer (the broader one when both hold one)."""
    partner: PartnerStanding | None
    """The exporter's certification by a partner administration, when it has one."""
    items: tuple[ItemFacts, ...]


def facts_of(
    declaration_id: str,
    declaration: Declaration,
    *,
    rates: ExchangeRates,
    register: TraderRegister,
    watch_lists: WatchLists,
    on: date,
) -> DeclarationFacts:
    """Raises MissingExchangeRate when an item's currency has no rate on that day."""
    parties = (declaration.declarant, declaration.importer, declaration.exporter)
    ids = {party.id for party in parties if party.id is not None}
    names = {party.name for party in parties if party.name is not None}
    header_documents = {document.code for document in declaration.documents if _held(document)}
    programmes = {
        certificate.programme
        for trader_id in (declaration.declarant.id, declaration.importer.id)
        if (certificate := register.aeo(trader_id, on)) is not None
    }
    partner = register.partner_certification(declaration.exporter.id, on)
    return DeclarationFacts(
        declaration_id=declaration_id,
        parties=frozenset(ids),
        watch_lists=watch_lists.listing(ids, names),
        aeo=_broadest(programmes),
        partner=PartnerStanding(partner.administration, partner.programme) if partner else None,
        items=tuple(
            ItemFacts(
                sequence=item.sequence,
                commodity_code=item.full_commodity_code,
                origin=item.origin_country,
                value=rates.to_national(item.value.value, item.value.currency, on),
                net_mass_kg=item.net_mass_kg or (item.quantity.value if item.quantity.unit == "KGM" else None),
                gross_mass_kg=item.gross_mass_kg,
                documents=frozenset(header_documents.union(d.code for d in item.documents if _held(d))),
            )
            for item in declaration.goods_items
        ),
    )


# Document statuses (D.E. 2/3, WCO LPCOExemptionCode) that say the declarant does not hold the document: a permit
# declared "unavailable" or "waived" is no permit, so restricted goods citing one stay restricted.
NOT_HELD = frozenset({"UA", "XW"})


def _held(document: ReferencedDocument) -> bool:
    return document.status not in NOT_HELD


def _broadest(programmes: set[AeoProgramme]) -> AeoProgramme | None:
    if AeoProgramme.AEOF in programmes or {AeoProgramme.AEOC, AeoProgramme.AEOS} <= programmes:
        return AeoProgramme.AEOF
    return next(iter(sorted(programmes)), None)
