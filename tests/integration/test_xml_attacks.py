"""The XML attack corpus sent over HTTP to both XML intakes (ePhyto certificates and WCO declarations).

Every case must get the expected 4xx as problem details that say why (for the expansion attacks: refused
at the DOCTYPE, before anything expands), with no stack trace and nothing echoed at length, and must
leave nothing stored. The outcomes, with the time each took, go to test-artifacts/xml-attacks.md; the
time is reported, not asserted, because a shared CI machine makes wall-clock limits flaky.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from services.gateway.adapters.orm import certificates, declarations
from tests.support.artifacts import keep_table
from tests.support.in_process import NPPO_KEY, TRADER_KEY, System
from tests.unit import ephyto_attacks as attacks

pytestmark = pytest.mark.integration
XML = {"content-type": "application/xml"}
DTD_REFUSED = ("DOCTYPE is refused",)
NOT_A_DECLARATION = "expected MetaData"
TOO_LARGE = ("the body must not exceed",)


@dataclass(frozen=True)
class Attack:
    name: str
    document: Callable[[], bytes]
    status: int
    says: tuple[str, ...]
    """Phrases of which the refusal must contain one (a certificate is not a declaration, and the reverse)."""


CORPUS = [
    Attack("billion laughs (10 levels, 3 GB expanded)", attacks.billion_laughs, 422, DTD_REFUSED),
    Attack("quadratic blowup (50 kB entity x 50,000)", attacks.quadratic_blowup, 422, DTD_REFUSED),
    Attack("external entity: file:///etc/passwd", attacks.external_entity, 422, DTD_REFUSED),
    Attack("external entity: http URL", lambda: attacks.external_entity("http://169.254.169.254/"), 422, DTD_REFUSED),
    Attack("external DTD", attacks.external_dtd, 422, DTD_REFUSED),
    Attack("parameter entity (blind XXE)", attacks.parameter_entity, 422, DTD_REFUSED),
    Attack("entity in a SOAP envelope", attacks.soap_with_entity, 422, DTD_REFUSED),
    Attack(
        "entity inside a hub Envelope's Content",
        attacks.entity_in_envelope_content,
        422,
        ("DOCTYPE", NOT_A_DECLARATION),
    ),
    Attack("XInclude of /etc/passwd", attacks.xinclude, 422, ("required", NOT_A_DECLARATION)),
    Attack("xsi:schemaLocation to an outside URL", attacks.schema_location, 422, ("required", NOT_A_DECLARATION)),
    Attack("xml-stylesheet instruction", attacks.stylesheet_instruction, 422, ("required", NOT_A_DECLARATION)),
    Attack("UTF-7 encoding declared", attacks.declared_encoding, 422, ("only UTF-8 is accepted",)),
    Attack("body over the 1 MiB limit", lambda: attacks.oversize(2 * 1024 * 1024), 413, TOO_LARGE),
    Attack("nesting 100,000 deep", lambda: attacks.deep_nesting(100_000), 422, ("nested deeper than",)),
    Attack("250,000 elements, flat", lambda: attacks.many_elements(250_000), 422, ("more than 200000 elements",)),
    Attack("300,000 elements, flat", attacks.many_elements, 413, TOO_LARGE),
    Attack("element name of 900,000 characters", lambda: attacks.long_name(900_000), 422, ("at most 200",)),
    Attack("60,000 attributes on one element", lambda: attacks.many_attributes(60_000), 422, ("at most 64",)),
    Attack("binary garbage", attacks.garbage, 422, ("not UTF-8",)),
    Attack("ISO-8859-1 bytes without a declaration", attacks.latin1_without_declaration, 422, ("not UTF-8",)),
    Attack("NUL byte", attacks.nul_byte, 422, ("not well-formed",)),
    Attack("truncated document", lambda: attacks.truncated(attacks.xinclude()), 422, ("not well-formed",)),
]
INTAKES = [("/v1/certificates", NPPO_KEY), ("/v1/declarations", TRADER_KEY)]


async def stored(system: System) -> tuple[int, int]:
    async with system.gateway.runtime.engine.connect() as connection:
        counted = [
            await connection.scalar(select(func.count()).select_from(table)) for table in (certificates, declarations)
        ]
    return counted[0] or 0, counted[1] or 0


def problems_with(attack: Attack, response: httpx.Response, detail: str) -> list[str]:
    found = []
    if response.status_code != attack.status:
        found.append(f"status {response.status_code}, expected {attack.status}")
    if response.headers["content-type"] != "application/problem+json":
        found.append(f"not problem details but {response.headers['content-type']}")
    if not any(phrase in detail for phrase in attack.says):
        found.append(f"the reason says none of {attack.says}: {detail[:200]!r}")
    if "Traceback" in response.text or 'File "' in response.text:
        found.append("a stack trace in the body")
    if len(response.content) > 2000:
        found.append(f"{len(response.content)} bytes of error body")
    return found


async def test_every_attack_is_refused_clearly_and_stores_nothing(system: System) -> None:
    before = await stored(system)
    outcomes: list[dict[str, object]] = []
    wrong: list[str] = []
    for attack in CORPUS:
        document = attack.document()
        for path, key in INTAKES:
            started = time.perf_counter()
            response = await system.client.post(path, content=document, headers=XML | key)
            elapsed_ms = (time.perf_counter() - started) * 1000
            detail = str(response.json().get("detail", "")) if response.headers["content-type"].endswith("json") else ""
            outcomes.append(
                {
                    "attack": attack.name,
                    "intake": path,
                    "bytes": len(document),
                    "status": response.status_code,
                    "ms": round(elapsed_ms, 1),
                    "reason": detail[:160],
                }
            )
            problems = problems_with(attack, response, detail)
            wrong += [f"{attack.name} -> {path}: {problem}" for problem in problems if problem]
    keep_table("xml-attacks", "XML attack corpus: outcome per intake", outcomes)

    assert not wrong, "\n".join(wrong)
    assert await stored(system) == before
    assert len(outcomes) == 2 * len(CORPUS)
