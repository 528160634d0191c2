"""Request examples shown in the OpenAPI document, and written to examples/ for the README's commands.

`python -m services.gateway.entrypoints.examples` rewrites examples/*.json; `--check` fails when they differ.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from services.contract.schema_export import write_or_check

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

DECLARATION_EXAMPLE: dict[str, Any] = {
    "lrn": "LRN-2026-ROSES-0001",
    "type": "IM",
    "declarant": {"id": "GB123456789000"},
    "importer": {"id": "GB123456789000"},
    "exporter": {
        "name": "Bloemen Export BV",
        "address": {"line": "Legmeerdijk 313", "city": "Aalsmeer", "postcode": "1431 GB", "country_code": "NL"},
    },
    "authorisations": [{"holder_id": "GB123456789000", "category_code": "DPO"}],
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

# The roses declaration amended before release: 1,150 kg of roses were shipped, not 1,200.
AMENDMENT_EXAMPLE: dict[str, Any] = {
    **DECLARATION_EXAMPLE,
    "function_code": "4",
    "goods_items": [
        {
            **DECLARATION_EXAMPLE["goods_items"][0],
            "quantity": {"value": "1150", "unit": "KGM"},
            "value": {"value": "8050.00", "currency": "EUR"},
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when examples/ is out of date")
    files = {
        EXAMPLES / f"{name}.json": json.dumps(example, indent=2) + "\n"
        for name, example in (
            ("declaration", DECLARATION_EXAMPLE),
            ("amendment", AMENDMENT_EXAMPLE),
            ("certificate", CERTIFICATE_EXAMPLE),
        )
    }
    write_or_check(files, check=parser.parse_args().check, regenerate="python -m services.gateway.entrypoints.examples")


if __name__ == "__main__":
    main()
