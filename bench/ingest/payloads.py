"""The request bodies the ingest benchmark sends: templates whose placeholder each request replaces with a unique
id, so that every request is a new declaration (unique LRN) or a new certificate (unique number)."""

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLACEHOLDER = "@@UNIQUE@@"
"""Replaced, in every request, by an id unique to the run and the request (letters and digits only)."""
TRADER_KEY = "dev-trader-GB123456789000"
"""A development trader key (deploy/dev-keys.yaml), seeded by the gateway in development mode."""
NPPO_KEY = "dev-nppo-NL-0000000001"
"""The Netherlands NPPO's development key: only an NPPO may submit certificates, of its own country."""

Goods = tuple[str, str, str, int, str]
"""Commodity code, description, origin, kg, value in EUR."""

# Goods a realistic declaration of mixed consignments carries: commodity code, description, origin, kg, value.
GOODS: tuple[Goods, ...] = (
    ("06031100", "Fresh cut roses", "NL", 1200, "8400.00"),
    ("06031200", "Fresh cut carnations", "NL", 400, "1900.00"),
    ("06031300", "Fresh cut orchids", "NL", 150, "2250.00"),
    ("06029091", "Live indoor plants", "NL", 900, "5100.00"),
    ("07020000", "Tomatoes, fresh", "ES", 2000, "3600.00"),
    ("08030010", "Plantains, fresh", "CO", 5000, "4200.00"),
    ("08051020", "Sweet oranges", "ZA", 3000, "2700.00"),
    ("09012100", "Roasted coffee, not decaffeinated", "BR", 800, "9600.00"),
    ("61091000", "T-shirts of cotton, knitted", "BD", 600, "7800.00"),
    ("62034231", "Men's denim trousers", "PK", 700, "9100.00"),
    ("85171300", "Smartphones", "CN", 250, "62500.00"),
    ("84713000", "Portable computers", "CN", 300, "90000.00"),
    ("94036010", "Wooden dining room furniture", "VN", 1500, "12000.00"),
    ("39241000", "Plastic tableware", "CN", 450, "1350.00"),
    ("73239300", "Stainless steel kitchenware", "IN", 520, "4680.00"),
    ("64039993", "Leather footwear", "IT", 380, "15200.00"),
    ("42022100", "Handbags of leather", "FR", 120, "18000.00"),
    ("95030070", "Toys, put up in sets", "CN", 640, "5760.00"),
    ("22042109", "Wine in containers of 2 l or less", "FR", 1800, "21600.00"),
    ("33049900", "Beauty preparations", "KR", 210, "8400.00"),
)


@dataclass(frozen=True)
class Payload:
    """One kind of submission: its gateway path, content type and key, and how the bridge gets the same bytes."""

    name: str
    description: str
    path: str
    content_type: str
    api_key: str
    body: str
    """The template, with PLACEHOLDER where the unique id goes."""

    @property
    def size(self) -> int:
        """Bytes of one request body (the placeholder replaced by an id of the same length as the generators')."""
        return len(self.body.replace(PLACEHOLDER, "x" * 20).encode())

    @property
    def bridge_body(self) -> str:
        """The same payload as one Kafka Bridge record: keyed by the unique id, the JSON itself as a JSON value,
        the XML as a JSON string (the bridge's text embedded format)."""
        value: Any = json.loads(self.body) if self.content_type == "application/json" else self.body
        return json.dumps({"records": [{"key": PLACEHOLDER, "value": value}]}, separators=(",", ":"))

    @property
    def bridge_content_type(self) -> str:
        if self.content_type == "application/json":
            return "application/vnd.kafka.json.v2+json"
        return "application/vnd.kafka.text.v2+json"


def declaration_with(goods: Sequence[Goods], *, lrn: str, cite_certificate: bool = False) -> dict[str, Any]:
    """examples/declaration.json under `lrn` carrying `goods`, each item shaped as its first; without the
    certificate that item cites (which plant health would wait for) unless `cite_certificate`."""
    body: dict[str, Any] = json.loads((EXAMPLES / "declaration.json").read_text(encoding="utf-8"))
    body["lrn"] = lrn
    first = body["goods_items"][0]
    if not cite_certificate:
        first["documents"] = []
    body["goods_items"] = [
        copy.deepcopy(first)
        | {
            "sequence": sequence,
            "commodity_code": code,
            "description": description,
            "origin_country": origin,
            "quantity": {"value": str(kg), "unit": "KGM"},
            "value": {"value": value, "currency": "EUR"},
        }
        for sequence, (code, description, origin, kg, value) in enumerate(goods, start=1)
    ]
    return body


def _declaration(items: int) -> dict[str, Any]:
    """A declaration of `items` goods items of mixed goods, citing no certificate (no part of ingest)."""
    return declaration_with([GOODS[index % len(GOODS)] for index in range(items)], lrn=f"LRN-B-{PLACEHOLDER}")


def _certificate_xml() -> str:
    text = (EXAMPLES / "certificate.xml").read_text(encoding="utf-8")
    number = "<ram:ID>NL-2026-000124</ram:ID>"
    if number not in text:
        raise ValueError(f"examples/certificate.xml no longer holds {number}: update bench/ingest/payloads.py")
    return text.replace(number, f"<ram:ID>NL-B-{PLACEHOLDER}</ram:ID>", 1)


def payloads() -> list[Payload]:
    return [
        Payload(
            "small",
            "declaration, 1 goods item (JSON)",
            "/v1/declarations",
            "application/json",
            TRADER_KEY,
            json.dumps(_declaration(1), separators=(",", ":")),
        ),
        Payload(
            "realistic",
            "declaration, 20 goods items (JSON)",
            "/v1/declarations",
            "application/json",
            TRADER_KEY,
            json.dumps(_declaration(20), separators=(",", ":")),
        ),
        Payload(
            "ephyto",
            "ePhyto certificate (UN/CEFACT SPS XML)",
            "/v1/certificates",
            "application/xml",
            NPPO_KEY,
            _certificate_xml(),
        ),
    ]
