"""Reading request bodies: JSON into the contract models (unknown fields refused), or XML through its parser."""

import json
from typing import Any, TypeVar

import pydantic_core
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from services.contract.certificate import Certificate
from services.contract.declaration import Declaration
from services.gateway.adapters.ephyto_xml import parse_certificate_xml
from services.gateway.adapters.safe_xml import read_in_turn
from services.gateway.adapters.wco_declaration_xml import parse_declaration_xml
from services.gateway.domain.errors import UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json",)
XML_TYPES = ("application/xml", "text/xml")
SOAP_TYPES = ("application/soap+xml",)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def not_json(exc: ValueError | RecursionError) -> RequestValidationError:
    """422 for a body `json.loads` refused, at the offset where it stopped: bad syntax, bytes that are not UTF-8,
    or arrays and objects nested deeper than the parser goes."""
    location: tuple[str | int, ...] = ("body",)
    message = "JSON decode error"
    if isinstance(exc, json.JSONDecodeError):
        location = ("body", exc.pos)
    elif isinstance(exc, UnicodeDecodeError):
        location = ("body", exc.start)
        message = f"JSON decode error: byte {exc.start} is not UTF-8 ({exc.reason}); send UTF-8"
    elif isinstance(exc, RecursionError):
        message = "JSON decode error: arrays and objects are nested too deeply"
    return RequestValidationError([{"loc": location, "msg": message, "type": "json_invalid"}])


async def read_json(request: Request, model: type[M]) -> M:
    """The body as `model`; 422 with the path of every invalid or unknown field."""
    return from_json(await request.body(), model)


def _parsed_json(raw_bytes: bytes) -> Any:
    """A JSON body as Python values, as `json.loads` gives them, or the 422 for it (`not_json`).

    pydantic-core's parser takes two thirds of the time `json.loads` takes, and gives the same values for what it
    reads (big integers, NaN and Infinity included). What it refuses (bytes that are not UTF-8, a byte order mark,
    a lone surrogate, nesting deeper than it goes, bad syntax) `json.loads` reads again: it reads some of those, and
    says where the others go wrong."""
    try:
        return pydantic_core.from_json(raw_bytes)
    except ValueError:
        pass
    try:
        return json.loads(raw_bytes)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise not_json(exc) from exc


def from_json(raw_bytes: bytes, model: type[M]) -> M:
    """A JSON body as `model` (`read_json`)."""
    raw = _parsed_json(raw_bytes)
    try:
        # The models ignore fields they do not know (events from newer producers); a request may not carry any.
        return model.model_validate(raw, extra="forbid")
    except ValidationError as exc:
        raise RequestValidationError(
            [{"loc": ("body", *error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
        ) from exc


async def read_certificate(request: Request) -> tuple[Certificate, bytes | None]:
    """A certificate from JSON, or from UN/CEFACT SPS XML as the ePhyto Hub delivers it (bare, in its
    envelopes, or in a SOAP body); with XML, also the certificate document to keep."""
    return await certificate_from(await request.body(), media_type(request), int(request.app.state.max_body_bytes))


async def certificate_from(body: bytes, kind: str, max_bytes: int) -> tuple[Certificate, bytes | None]:
    """A certificate from a body of media type `kind` (`read_certificate`). XML is read on the event loop when
    small, in a worker thread when large (`read_in_turn`)."""
    if kind in JSON_TYPES:
        return from_json(body, Certificate), None
    if kind in XML_TYPES + SOAP_TYPES:
        parsed = await read_in_turn(parse_certificate_xml, body, max_bytes=max_bytes)
        return parsed.certificate, parsed.document
    raise UnsupportedMediaType(
        f"send the certificate as {' or '.join(JSON_TYPES + XML_TYPES + SOAP_TYPES)}, not {kind!r}"
    )


async def read_declaration(request: Request) -> Declaration:
    """A declaration from JSON, or from WCO Data Model XML as national implementations publish it (read as
    certificates are)."""
    kind = media_type(request)
    if kind in JSON_TYPES:
        return await read_json(request, Declaration)
    if kind in XML_TYPES:
        body, limit = await request.body(), int(request.app.state.max_body_bytes)
        return await read_in_turn(parse_declaration_xml, body, max_bytes=limit)
    raise UnsupportedMediaType(f"send the declaration as {' or '.join(JSON_TYPES + XML_TYPES)}, not {kind!r}")


def request_body(
    schema: str, json_examples: dict[str, Any], xml_description: str, xml_examples: dict[str, str]
) -> dict[str, Any]:
    """OpenAPI requestBody for a route that reads its body itself: JSON by schema, or XML."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{schema}"},
                    "examples": {name: {"value": value} for name, value in json_examples.items()},
                },
                "application/xml": {
                    "schema": {"type": "string", "description": xml_description},
                    "examples": {name: {"value": value} for name, value in xml_examples.items()},
                },
            },
        }
    }
