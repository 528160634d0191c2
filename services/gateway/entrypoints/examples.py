"""Request examples shown in the OpenAPI document (and used by the README and the tests)."""

from typing import Any

DECLARATION_EXAMPLE: dict[str, Any] = {
    "lrn": "LRN-2026-ROSES-0001",
    "type": "IM",
    "declarant": {"id": "GB123456789000"},
    "importer": {"id": "GB123456789000"},
    "exporter": {
        "name": "Bloemen Export BV",
        "address": {"line": "Legmeerdijk 313", "city": "Aalsmeer", "postcode": "1431 GB", "country_code": "NL"},
    },
    "export_country": "NL",
    "point_of_entry": "GBDVR",
    "goods_items": [
        {
            "sequence": 1,
            "commodity_code": "06031100",
            "description": "Fresh cut roses",
            "origin_country": "NL",
            "quantity": {"value": "1200", "unit": "KGM"},
            "value": {"value": "8400.00", "currency": "EUR"},
            "documents": [{"category_code": "N", "type_code": "851", "id": "NL-2026-000123"}],
        }
    ],
}

CERTIFICATE_EXAMPLE: dict[str, Any] = {
    "number": "NL-2026-000123",
    "type": "851",
    "status": "70",
    "issuing_country": "NL",
    "importing_country": "GB",
    "issued_at": "2026-11-20T09:30:00+01:00",
    "consignor": {"name": "Bloemen Export BV"},
    "consignee": {"name": "Roses Import Ltd"},
    "point_of_entry": "GBDVR",
    "line_items": [
        {
            "sequence": 1,
            "scientific_name": "Rosa",
            "description": "Cut flowers of roses",
            "commodity_code": "060311",
            "origin_countries": ["NL"],
            "net_quantity": {"value": "1200", "unit": "KGM"},
        }
    ],
}
