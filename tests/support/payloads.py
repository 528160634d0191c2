"""Request bodies for the tests, derived from the OpenAPI examples with a unique LRN and certificate number."""

import copy
import uuid
from typing import Any

from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE, DECLARATION_EXAMPLE


def declaration(certificate_number: str | None = None, **changes: Any) -> dict[str, Any]:
    """A declaration of cut roses from NL citing `certificate_number` (none: no N851 document at all), its importer
    named as the example certificate's consignee, so that the certificate is this consignment's."""
    body = copy.deepcopy(DECLARATION_EXAMPLE)
    body["lrn"] = f"LRN-{uuid.uuid4().hex[:12]}"
    body["importer"] = {**body["importer"], "name": CERTIFICATE_EXAMPLE["consignee"]["name"]}
    item = body["goods_items"][0]
    if certificate_number is None:
        item["documents"] = []
    else:
        item["documents"][0]["id"] = certificate_number
    body.update(changes)
    return body


def customs_only(commodity_code: str, origin: str, *, deferment: bool = True, **item: Any) -> dict[str, Any]:
    """A declaration of goods only customs controls; without deferment the duties must be paid."""
    body = declaration(None)
    body["goods_items"][0] |= {"commodity_code": commodity_code, "origin_country": origin, **item}
    if not deferment:
        body["authorisations"] = []
    return body


def certificate(number: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CERTIFICATE_EXAMPLE)
    body["number"] = number
    body.update(changes)
    return body


def certificate_number() -> str:
    return f"NL-T-{uuid.uuid4().hex[:10].upper()}"
