"""The events the consumer benchmark pre-loads: declarations and certificates as the gateway publishes them.

Each event is built as the gateway builds it (services/gateway/service_layer/declarations.py and certificates.py:
the contract's DeclarationSubmitted and CertificateReceived in an Envelope, required agencies from the gateway's
own routing table), and becomes a Kafka record through the Envelope's own headers, key and value, which is what
the gateway's outbox stores and its relay sends.
"""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ulid import ULID

from services.contract.certificate import Certificate
from services.contract.cloudevents import Envelope
from services.contract.declaration import Declaration
from services.contract.events import CertificateReceived, DeclarationSubmitted
from services.contract.rules_file import load_rules
from services.gateway.domain.routing import RoutingTable
from services.gateway.settings import GatewaySettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCE = GatewaySettings.model_fields["service_name"].default
"""The CloudEvents source of the gateway's events (its service name)."""

Plant = tuple[str, str, str, int]
"""A regulated plant product: commodity code, description, botanical name, kg."""
PLANTS: dict[str, tuple[Plant, ...]] = {
    "NL": (
        ("06031100", "Fresh cut roses", "Rosa", 1200),
        ("06031200", "Fresh cut carnations", "Dianthus caryophyllus", 400),
        ("06031300", "Fresh cut orchids", "Phalaenopsis", 150),
        ("06029091", "Live indoor plants", "Ficus benjamina", 900),
    ),
    "ES": (("07020000", "Tomatoes, fresh", "Solanum lycopersicum", 2000),),
    "CO": (("08030010", "Plantains, fresh", "Musa paradisiaca", 5000),),
    "ZA": (("08051020", "Sweet oranges", "Citrus sinensis", 3000),),
    "KE": (("06031100", "Fresh cut roses", "Rosa", 800),),
}
# Goods no plant-health rule covers, all in customs' sample tariff: commodity code, description, origin, kg.
OTHER_GOODS: tuple[tuple[str, str, str, int], ...] = (
    ("09012100", "Roasted coffee, not decaffeinated", "BR", 800),
    ("61091000", "T-shirts of cotton, knitted", "BD", 600),
    ("61091000", "T-shirts of cotton, knitted", "TR", 450),
    ("85171300", "Smartphones", "CN", 250),
    ("84713000", "Portable computers", "CN", 300),
    ("94036010", "Wooden dining room furniture", "VN", 1500),
    ("64039993", "Leather footwear", "IT", 380),
    ("64039993", "Leather footwear", "VN", 520),
)
PRICE_PER_KG = ("3.50", "7.00", "12.00", "40.00", "150.00")


@dataclass(frozen=True)
class Record:
    """One Kafka record as the gateway's outbox relay sends it."""

    topic: str  # the logical topic (declarations, certificates); the run adds its prefix
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def record_of(envelope: Envelope) -> Record:
    return Record(envelope.data.topic.value, envelope.key(), envelope.value(), envelope.headers())


@dataclass(frozen=True)
class Workload:
    """What one run pre-loads, and which declarations must be decided."""

    records: list[Record]
    declaration_ids: list[str]
    certificates: int
    goods_items: int

    @property
    def declarations(self) -> int:
        return len(self.declaration_ids)


def routing_table() -> RoutingTable:
    return load_rules(GatewaySettings.model_fields["routing_table"].default, RoutingTable)


def _item(sequence: int, code: str, description: str, origin: str, kg: int, price: str) -> dict[str, Any]:
    value = f"{kg * float(price):.2f}"
    return {
        "sequence": sequence,
        "commodity_code": code,
        "description": description,
        "origin_country": origin,
        "quantity": {"value": str(kg), "unit": "KGM"},
        "net_mass_kg": str(kg),
        "value": {"value": value, "currency": "EUR"},
    }


def _certificate(number: str, country: str, plants: list[tuple[int, Plant]], issued: datetime) -> Certificate:
    """A certificate of `country`'s NPPO for the plant goods items (sequence, goods) it certifies."""
    body: dict[str, Any] = json.loads((EXAMPLES / "certificate.json").read_text(encoding="utf-8"))
    body |= {"number": number, "issuing_country": country, "issued_at": issued.isoformat()}
    body["line_items"] = [
        {
            "sequence": line,
            "scientific_name": botanical,
            "description": description,
            "commodity_code": code[:6],
            "origin_countries": [country],
            "net_quantity": {"value": str(kg), "unit": "KGM"},
        }
        for line, (_, (code, description, botanical, kg)) in enumerate(plants, start=1)
    ]
    return Certificate.model_validate(body)


def build(count: int, *, plants: bool, run_id: str, now: datetime, seed: int = 7) -> Workload:
    """`count` declarations lodged by the example's trader, each with 1-6 goods items of mixed goods.

    With `plants`, every declaration carries 1-3 regulated plant products of one exporting country, each item
    citing its certificate (one or two per declaration, issued the day before), and the certificates come too;
    without, one declaration in three does, and no certificate comes (customs does not read them).
    """
    rng = random.Random(seed)
    template: dict[str, Any] = json.loads((EXAMPLES / "declaration.json").read_text(encoding="utf-8"))
    routing = routing_table()
    records: list[Record] = []
    ids: list[str] = []
    certificates = items = 0
    for index in range(count):
        body = dict(template)
        body["lrn"] = f"LRN-BENCH-{run_id}-{index:06d}"
        goods: list[dict[str, Any]] = []
        certified: dict[str, list[tuple[int, Plant]]] = {}
        if plants or index % 3 == 0:
            country = rng.choice(sorted(PLANTS))
            body["export_country"] = country
            split = rng.random() < 0.3  # some consignments come with two certificates
            choice = PLANTS[country]
            for plant in rng.sample(choice, rng.randint(1, min(3, len(choice)))):  # distinct: one line per HS6
                sequence = len(goods) + 1
                number = f"{country}-BENCH-{run_id}-{index:06d}-{1 + (split and sequence % 2 == 0)}"
                certified.setdefault(number, []).append((sequence, plant))
                item = _item(sequence, plant[0], plant[1], country, plant[3], rng.choice(PRICE_PER_KG))
                item["documents"] = [{"category_code": "N", "type_code": "851", "id": number}]
                goods.append(item)
        else:
            body["export_country"] = rng.choice(["CN", "US", "IN", "VN", "TR"])
        for _ in range(rng.randint(0 if goods else 1, 6 - len(goods))):
            code, description, origin, kg = rng.choice(OTHER_GOODS)
            goods.append(_item(len(goods) + 1, code, description, origin, kg, rng.choice(PRICE_PER_KG)))
        body["goods_items"] = goods
        declaration = Declaration.model_validate(body)
        for number, lines in certified.items() if plants else ():
            certificate = _certificate(number, body["export_country"], lines, now - timedelta(days=1))
            event = CertificateReceived(certificate_id=str(ULID()), certificate=certificate, received_at=now)
            records.append(record_of(Envelope(data=event, source=SOURCE, correlation_id=str(ULID()))))
            certificates += 1
        declaration_id = str(ULID())
        submitted = DeclarationSubmitted(
            declaration_id=declaration_id,
            version=1,
            declaration=declaration,
            required_agencies=routing.required_agencies(declaration),
            routing_version=routing.version,
            submitted_at=now,
        )
        records.append(record_of(Envelope(data=submitted, source=SOURCE, correlation_id=str(ULID()))))
        ids.append(declaration_id)
        items += len(goods)
    return Workload(records, ids, certificates, items)


def by_topic(records: list[Record]) -> Iterator[tuple[str, list[Record]]]:
    for topic in sorted({record.topic for record in records}):
        yield topic, [record for record in records if record.topic == topic]
