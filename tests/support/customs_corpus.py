"""A deterministic corpus of valid customs declarations, shaped like a day's traffic, for lane-mix and what-if tests.

`corpus(n)` yields (declaration_id, Declaration) pairs from a seeded generator: the same n and seed give the same
declarations. The parties, currencies and codes come from the shipped reference data, so that every rule of the
shipped risk profile has something to hit: AEO and partner-certified traders, watch-listed parties, heavy and
high-value items, unit values outside their valuation band, CITES goods with and without a permit (C400), and a
few prohibited goods (North Korean origin, worked ivory).
"""

import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from services.contract.declaration import (
    Address,
    Amount,
    Authorisation,
    Declaration,
    DeclarationType,
    GoodsItem,
    Party,
    Quantity,
    ReferencedDocument,
)
from services.contract.rules_file import load_rules
from services.customs.domain.exchange_rates import ExchangeRates
from services.customs.domain.risk import RiskProfile, ValuationBand
from services.customs.domain.traders import TraderRegister
from services.customs.domain.watch_lists import WatchLists
from services.customs.settings import DATA

CORPUS_SIZE = 10_000
CORPUS_SEED = 20261120
CORPUS_DAY = date(2026, 11, 20)
"""The day the corpus is assessed on: the shipped exchange rates and trader register apply then."""

PENNY = Decimal("0.01")
GRAM = Decimal("0.001")


@dataclass(frozen=True)
class Commodity:
    code: str
    description: str
    origins: tuple[str, ...]
    unit_price: tuple[float, float]
    """Typical customs value per kg of net mass, in GBP."""
    net_mass: tuple[float, float]
    """Typical net mass of one goods item, in kg."""
    weight: int
    """How common the commodity is in the corpus, relative to the others."""
    cites: bool = False
    """Species that may need a CITES permit (C400)."""
    phyto: bool = False
    """Plant products that travel with a phytosanitary certificate (N851)."""


# Codes that shipped tariff measures cover (the corpus tests hold the tariff to that), weighted like a port's imports.
COMMODITIES = (
    Commodity("01062000", "Live reptiles", ("ID", "MG", "US", "TZ"), (20, 300), (1, 40), 2, cites=True),
    Commodity("06029050", "Live outdoor plants", ("NL", "BE", "IT", "DE"), (2, 15), (100, 3000), 6, phyto=True),
    Commodity("06029099", "Live orchids in pots", ("TH", "VN", "NL", "TW"), (5, 40), (20, 800), 3, True, True),
    Commodity("06031100", "Fresh cut roses", ("NL", "KE", "CO", "EC", "ET"), (3, 20), (200, 4000), 10, phyto=True),
    Commodity("06031200", "Fresh cut carnations", ("CO", "KE", "NL"), (2, 12), (200, 3000), 4, phyto=True),
    Commodity("07099310", "Courgettes, fresh", ("ES", "MA", "NL"), (0.6, 3), (500, 12000), 6, phyto=True),
    Commodity("07020000", "Tomatoes, fresh", ("ES", "MA", "NL"), (0.8, 3), (500, 15000), 6, phyto=True),
    Commodity("07031019", "Onion sets", ("NL", "ES", "NZ", "CL"), (0.3, 1.5), (1000, 18000), 4, phyto=True),
    Commodity("08044000", "Avocados, fresh", ("PE", "CL", "KE", "ZA", "MX"), (1.5, 6), (1000, 12000), 8, phyto=True),
    Commodity("08039010", "Bananas, fresh", ("CR", "CO", "EC", "DO"), (0.5, 1.2), (5000, 20000), 6, phyto=True),
    Commodity("08061010", "Table grapes", ("ZA", "CL", "IN", "PE"), (1.5, 4), (1000, 15000), 4, phyto=True),
    Commodity("09011100", "Coffee, not roasted", ("BR", "CO", "VN", "ET", "KE"), (2, 6), (1000, 15000), 4),
    Commodity("10063098", "Milled rice", ("VN", "TH", "IN", "PK"), (0.4, 1.2), (5000, 22000), 3),
    Commodity("44012100", "Coniferous wood chips", ("LV", "EE", "US"), (0.05, 0.2), (8000, 22000), 1),
    Commodity("44039100", "Oak in the rough", ("FR", "DE", "US"), (0.3, 1.5), (8000, 20000), 1),
    Commodity("44071100", "Sawn pine", ("SE", "FI", "LV"), (0.2, 0.8), (5000, 20000), 1),
    Commodity("61091000", "Cotton T-shirts", ("CN", "BD", "TR", "IN", "VN"), (8, 60), (100, 1500), 8),
    Commodity("64039900", "Leather footwear", ("VN", "CN", "IT", "PT"), (20, 120), (50, 800), 5),
    Commodity("84713000", "Laptops", ("CN", "TW", "VN"), (80, 300), (20, 400), 6),
    Commodity("85171300", "Smartphones", ("CN", "VN", "IN", "KR"), (300, 1500), (5, 80), 4),
    Commodity("94036010", "Wooden dining furniture", ("CN", "VN", "PL", "IT"), (3, 20), (300, 4000), 5),
)
IVORY = Commodity("96011000", "Worked ivory carvings", ("HK", "CN", "NG"), (200, 2000), (1, 20), 0)
PROHIBITED_ORIGIN = "KP"

EXPORTER_COUNTRIES = ("NL", "KE", "CN", "US", "ES", "VN", "ZA", "IN", "CO", "TR")
# Watch lists compare names ignoring case and repeated spaces, so some parties spell a watched name so.
WATCHED_NAME_SPELLINGS: tuple[Callable[[str], str], ...] = (
    str,
    str.upper,
    str.lower,
    lambda name: "  ".join(name.split()),
)
CURRENCY_WEIGHTS = {"GBP": 25, "EUR": 30, "USD": 30, "CNY": 4, "JPY": 2, "CAD": 2, "NZD": 1, "ZAR": 1, "KES": 1,
                    "INR": 1, "THB": 1, "VND": 1, "CLP": 1, "CHF": 1}  # fmt: skip
ITEM_COUNT_WEIGHTS = {1: 45, 2: 25, 3: 15, 4: 10, 5: 5}


@dataclass(frozen=True)
class _Reference:
    """What the corpus takes from the shipped reference data, so that it follows the data when it changes."""

    rates: dict[str, Decimal]
    """Units of each currency per pound on the corpus day (the pound itself included)."""
    aeo_traders: tuple[str, ...]
    registered_traders: tuple[str, ...]
    """Traders of the register without AEO status."""
    partner_exporters: tuple[str, ...]
    watched_ids: tuple[str, ...]
    watched_names: tuple[str, ...]
    bands: tuple[ValuationBand, ...]


@functools.cache
def _reference() -> _Reference:
    rates = load_rules(DATA / "exchange-rates.yaml", ExchangeRates)
    register = load_rules(DATA / "trader-register.yaml", TraderRegister)
    watch_lists = load_rules(DATA / "watch-lists.yaml", WatchLists)
    profile = load_rules(DATA / "risk-profile.yaml", RiskProfile)
    period = next(period for period in rates.periods if period.applies_on(CORPUS_DAY))
    return _Reference(
        rates={rates.currency: Decimal(1), **period.rates},
        aeo_traders=tuple(trader.id for trader in register.traders if trader.aeo is not None),
        registered_traders=tuple(trader.id for trader in register.traders if trader.aeo is None),
        partner_exporters=tuple(entry.partner_id for entry in register.partner_certified),
        watched_ids=tuple(trader_id for watched in watch_lists.lists for trader_id in watched.trader_ids),
        watched_names=tuple(name for watched in watch_lists.lists for name in watched.names),
        bands=profile.valuation_bands,
    )


def corpus_id(index: int) -> str:
    """A 26-character id, as long as the gateway's ULIDs, that sorts in generation order."""
    return f"CORPUS{index:020d}"


def corpus(count: int = CORPUS_SIZE, *, seed: int = CORPUS_SEED) -> Iterator[tuple[str, Declaration]]:
    """`count` valid declarations; the same count and seed always give the same ones, in the same order."""
    rng = random.Random(seed)
    reference = _reference()
    plain_traders = tuple(f"GB{rng.randrange(10**11, 10**12)}000" for _ in range(400))
    for index in range(count):
        yield corpus_id(index), _Draws(rng, reference, plain_traders, index).declaration()


class _Draws:
    """One declaration's draws, always in the same order, so that the corpus depends on the seed alone."""

    def __init__(self, rng: random.Random, reference: _Reference, plain_traders: tuple[str, ...], index: int) -> None:
        self.rng = rng
        self.reference = reference
        self.plain_traders = plain_traders
        self.index = index

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def declaration(self) -> Declaration:
        rng = self.rng
        declarant, trader = self.traders()
        foreign = self.foreign_party()
        currency = rng.choices(list(CURRENCY_WEIGHTS), list(CURRENCY_WEIGHTS.values()))[0]
        count = rng.choices(list(ITEM_COUNT_WEIGHTS), list(ITEM_COUNT_WEIGHTS.values()))[0]
        items = [self.goods_item(sequence, currency) for sequence in range(1, count + 1)]
        if self.chance(0.002):
            position = rng.randrange(count)
            items[position] = self.goods_item(position + 1, currency, origin=PROHIBITED_ORIGIN)
        if self.chance(0.001):
            position = rng.randrange(count)
            items[position] = self.goods_item(position + 1, currency, commodity=IVORY)
        export = self.chance(0.03)
        deferment = self.chance(0.6)
        return Declaration(
            lrn=f"LRN-CORPUS-{self.index:07d}",
            type=DeclarationType.EXPORT if export else DeclarationType.IMPORT,
            declarant=Party(id=declarant),
            importer=foreign if export else Party(id=trader),
            exporter=Party(id=trader) if export else foreign,
            authorisations=[Authorisation(holder_id=declarant, category_code="DPO")] if deferment else [],
            point_of_entry=rng.choice(("GBDVR", "GBFXT", "GBSOU", "GBLHR", "GBLGP")),
            goods_items=items,
        )

    def traders(self) -> tuple[str, str]:
        """Declarant and importer (or exporter): mostly plain traders, some AEO, a few on a watch list."""
        rng = self.rng
        draw = rng.random()
        if draw < 0.04:
            trader = rng.choice(self.reference.aeo_traders)
        elif draw < 0.07:
            trader = rng.choice(self.reference.registered_traders)
        elif draw < 0.077:
            trader = rng.choice(self.reference.watched_ids)
        else:
            trader = rng.choice(self.plain_traders)
        declarant = trader if self.chance(0.6) else rng.choice(self.plain_traders[:40])  # a customs broker
        if self.chance(0.02):
            declarant = rng.choice(self.reference.aeo_traders)
        return declarant, trader

    def foreign_party(self) -> Party:
        """Mostly known by name and address, some certified by a partner administration, a few watched."""
        rng = self.rng
        draw = rng.random()
        if draw < 0.05:
            return Party(id=rng.choice(self.reference.partner_exporters))
        country = rng.choice(EXPORTER_COUNTRIES)
        if draw < 0.056:
            name = rng.choice(WATCHED_NAME_SPELLINGS)(rng.choice(self.reference.watched_names))
        else:
            name = f"Exporter {rng.randrange(1, 2000):04d} {country} Ltd"
        return Party(name=name, address=Address(city=f"City of {country}", country_code=country))

    def goods_item(
        self, sequence: int, currency: str, *, origin: str | None = None, commodity: Commodity | None = None
    ) -> GoodsItem:
        rng = self.rng
        commodity = commodity or rng.choices(COMMODITIES, [commodity.weight for commodity in COMMODITIES])[0]
        origin = origin or rng.choice(commodity.origins)
        net_mass = Decimal(rng.uniform(*commodity.net_mass)).quantize(GRAM)
        if commodity.net_mass[1] > 5000 and self.chance(0.04):
            net_mass = Decimal(rng.uniform(20000, 26000)).quantize(GRAM)  # a full container, maybe over 24 t gross
        unit_price = Decimal(rng.uniform(*commodity.unit_price))
        band = self.band(commodity.code, origin)
        if band is not None and self.chance(0.06):
            factor = rng.uniform(0.3, 0.9) if self.chance(0.6) else rng.uniform(1.1, 2.0)
            unit_price = (band.low if factor < 1 else band.high) * Decimal(factor)
        rate = self.reference.rates[currency]
        value = max((unit_price * net_mass * rate).quantize(PENNY, ROUND_HALF_UP), PENNY)
        gross_mass = (net_mass * Decimal(rng.uniform(1.02, 1.2))).quantize(GRAM)
        documents = []
        if commodity.phyto:
            documents.append(ReferencedDocument(category_code="N", type_code="851", id=f"{origin}-PC-{self.index}"))
        if commodity.cites and self.chance(0.7):
            documents.append(ReferencedDocument(category_code="C", type_code="400", id=f"CITES-{self.index}"))
        by_mass = self.chance(0.7)
        quantity = (
            Quantity(value=net_mass, unit="KGM") if by_mass else Quantity(value=rng.randrange(1, 5000), unit="NAR")
        )
        return GoodsItem(
            sequence=sequence,
            commodity_code=commodity.code,
            taric_code="00" if self.chance(0.2) else None,
            description=commodity.description,
            origin_country=origin,
            quantity=quantity,
            value=Amount(value=value, currency=currency),
            # With the quantity in kilograms the net mass may go unstated: the quantity is the net mass then.
            net_mass_kg=None if by_mass and self.chance(0.5) else net_mass,
            gross_mass_kg=gross_mass,
            documents=documents,
        )

    def band(self, commodity_code: str, origin: str) -> ValuationBand | None:
        """The shipped valuation band for the code and origin, so that some items are drawn outside it."""
        bands = [band for band in self.reference.bands if band.hs6 == commodity_code[:6]]
        return next((band for band in bands if origin in band.origin_countries), None) or next(
            (band for band in bands if not band.origin_countries), None
        )
