"""Queries of the phyto database; every function runs inside the caller's transaction."""

import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Row, Text, bindparam, cast, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.certificate import Certificate
from services.contract.dumped import json_text
from services.phyto.adapters.orm import certificates, decisions, declaration_certificates, declarations


async def lock_certificate_numbers(connection: AsyncConnection, numbers: Iterable[str]) -> None:
    """Serialise every transaction that joins declarations and certificates on these numbers.

    On PostgreSQL a transaction-scoped advisory lock per number (taken in sorted order, so two
    transactions cannot deadlock); SQLite transactions already begin with the write lock (BEGIN IMMEDIATE).
    """
    if connection.dialect.name != "postgresql":
        return
    for number in sorted(set(numbers)):
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(number.encode())})


REPLACEMENT_CHAIN = 10
"""How many replacements of replacements are followed from a cited number (a longer chain is not followed)."""


class CertificateRecord(Protocol):
    """A certificate as `OnFile` reads it: a stored row, or one kept in this transaction (`Kept`)."""

    @property
    def id(self) -> str: ...
    @property
    def issuing_country(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def replaces(self) -> str | None: ...
    @property
    def body(self) -> str | bytes:
        """The certificate's JSON: as stored, or as it is made to be stored (`Kept`)."""
        ...


class Kept(NamedTuple):
    """A certificate this transaction keeps, before it is stored."""

    id: str
    issuing_country: str
    number: str
    replaces: str | None
    body: bytes


def _preferred(
    rows: Iterable[CertificateRecord], key: str, preferred_country: str | None
) -> dict[str, CertificateRecord]:
    """One row per value of `key`; where two countries share it, the exporting country's."""
    chosen: dict[str, CertificateRecord] = {}
    for row in rows:
        value = getattr(row, key)
        if value not in chosen or row.issuing_country == preferred_country:
            chosen[value] = row
    return chosen


class OnFile:
    """Certificates that may be in force for some cited numbers (`certificate_rows`), indexed by their number and
    by the number each replaces; a transaction adds those it keeps before storing them."""

    def __init__(self, rows: Iterable[CertificateRecord] = ()) -> None:
        self._by_number: dict[str, list[CertificateRecord]] = {}
        self._by_replaced: dict[str, list[CertificateRecord]] = {}
        self._read: dict[str, Certificate] = {}  # by certificate id: each body validated once, whoever cites it
        for row in rows:
            self.add(row)

    def add(self, row: CertificateRecord, certificate: Certificate | None = None) -> None:
        """A certificate on file; `certificate` is its body already read (one kept in this transaction)."""
        self._by_number.setdefault(row.number, []).append(row)
        if row.replaces is not None:
            self._by_replaced.setdefault(row.replaces, []).append(row)
        if certificate is not None:
            self._read[row.id] = certificate

    def certificates(self, numbers: Iterable[str], preferred_country: str | None) -> dict[str, Certificate]:
        """The certificate in force for each cited number (see `in_force`), read."""
        return {cited: self._certificate(row) for cited, row in self.in_force(numbers, preferred_country).items()}

    def _certificate(self, row: CertificateRecord) -> Certificate:
        if row.id not in self._read:
            self._read[row.id] = Certificate.model_validate_json(row.body)  # not read into values first
        return self._read[row.id]

    def in_force(self, numbers: Iterable[str], preferred_country: str | None) -> dict[str, CertificateRecord]:
        """The certificate in force for each cited number: the one on file, or the one that replaced it (and the one
        that replaced that, and so on); where two countries used one number, the exporting country's. A number with
        none is left out."""
        wanted = set(numbers)
        chosen = _preferred(self._all(self._by_number, wanted), "number", preferred_country)
        heads = {number: number for number in wanted}  # cited number -> the number in force for it
        for _ in range(REPLACEMENT_CHAIN):
            successors = _preferred(self._all(self._by_replaced, set(heads.values())), "replaces", preferred_country)
            if not successors:
                break
            for cited, head in heads.items():
                if head in successors:
                    heads[cited] = successors[head].number
                    chosen[successors[head].number] = successors[head]
        return {cited: chosen[head] for cited, head in heads.items() if head in chosen}

    @staticmethod
    def _all(index: dict[str, list[CertificateRecord]], keys: set[str]) -> list[CertificateRecord]:
        return [row for key in sorted(keys) for row in index.get(key, ())]


_ON_FILE = (
    *(column for column in certificates.c if column.name != "body"),
    cast(certificates.c.body, Text).label("body"),  # the JSON as text: Certificate reads it without values between
)
_NUMBERED = (
    select(*_ON_FILE).where(certificates.c.number.in_(bindparam("numbers", expanding=True))).order_by(certificates.c.id)
)
_REPLACING = (
    select(*_ON_FILE)
    .where(certificates.c.replaces.in_(bindparam("numbers", expanding=True)))
    .order_by(certificates.c.id)
)


async def certificate_rows(connection: AsyncConnection, numbers: Iterable[str]) -> OnFile:
    """Every stored certificate that may be in force for these numbers, of any country: those with the numbers,
    those replacing them, those replacing those, and so on (up to REPLACEMENT_CHAIN)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return OnFile()
    rows = list(await connection.execute(_NUMBERED, {"numbers": wanted}))
    seen = {row.id for row in rows}
    replaced = wanted
    for _ in range(REPLACEMENT_CHAIN):
        successors = [row for row in await connection.execute(_REPLACING, {"numbers": replaced}) if row.id not in seen]
        if not successors:
            break
        rows += successors
        seen |= {row.id for row in successors}
        replaced = sorted({row.number for row in successors})
    return OnFile(rows)


async def certificates_by_number(
    connection: AsyncConnection, numbers: Iterable[str], preferred_country: str | None
) -> dict[str, Certificate]:
    """The certificate in force for each cited number (see `OnFile.in_force`)."""
    wanted = set(numbers)
    return (await certificate_rows(connection, wanted)).certificates(wanted, preferred_country)


async def replaced_numbers(connection: AsyncConnection, certificate: Certificate) -> list[str]:
    """The numbers a certificate replaces, directly or through the certificates it replaces, nearest first."""
    found: list[str] = []
    number = certificate.replaced_certificate_number
    while number and number not in found and len(found) < REPLACEMENT_CHAIN:
        found.append(number)
        number = await connection.scalar(
            select(certificates.c.replaces).where(
                certificates.c.issuing_country == certificate.issuing_country, certificates.c.number == number
            )
        )
    return found


def kept(certificate_id: str, certificate: Certificate, now: datetime) -> dict[str, Any]:
    """A certificate's row, as `store_certificate` or `store_certificates` keeps it."""
    return {
        "id": certificate_id,
        "issuing_country": certificate.issuing_country,
        "number": certificate.number,
        "status": certificate.status.value,
        "body": json_text(certificate),
        "received_at": now,
        "replaces": certificate.replaced_certificate_number,
    }


async def store_certificate(
    connection: AsyncConnection, certificate_id: str, certificate: Certificate, now: datetime
) -> None:
    """Insert the certificate, or replace the stored state of the same (country, number)."""
    row = kept(certificate_id, certificate, now)
    existing = await connection.scalar(
        select(certificates.c.id).where(
            certificates.c.issuing_country == certificate.issuing_country, certificates.c.number == certificate.number
        )
    )
    if existing is None:
        await connection.execute(insert(certificates).values(**row))
    else:
        del row["id"], row["issuing_country"], row["number"]
        await connection.execute(update(certificates).where(certificates.c.id == existing).values(**row))


_STORED_KEYS = select(certificates.c.issuing_country, certificates.c.number).where(
    certificates.c.number.in_(bindparam("numbers", expanding=True))
)
_INSERT_CERTIFICATE = insert(certificates)


async def stored_keys(connection: AsyncConnection, numbers: Iterable[str]) -> set[tuple[str, str]]:
    """The (issuing country, number) of the stored certificates with these numbers."""
    return {
        (row.issuing_country, row.number)
        for row in await connection.execute(_STORED_KEYS, {"numbers": sorted(set(numbers))})
    }


async def store_certificates(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Certificates not stored yet (`kept` rows), in one statement."""
    await connection.execute(_INSERT_CERTIFICATE, rows)


async def declaration(connection: AsyncConnection, declaration_id: str) -> Row[Any] | None:
    query = select(declarations).where(declarations.c.declaration_id == declaration_id)
    return (await connection.execute(query)).first()


async def save_declaration(
    connection: AsyncConnection,
    *,
    declaration_id: str,
    version: int,
    body: dict[str, Any],
    correlation_id: str,
    numbers: set[str],
    lodged_at: datetime,
) -> None:
    await connection.execute(
        insert(declarations).values(
            declaration_id=declaration_id,
            version=version,
            body=body,
            correlation_id=correlation_id,
            lodged_at=lodged_at,
            outcome="pending",
            reasons=[],
            last_sequence=0,
        )
    )
    await _link(connection, declaration_id, numbers)


async def save_version(
    connection: AsyncConnection, *, declaration_id: str, version: int, body: dict[str, Any], numbers: set[str]
) -> None:
    """A later version of a declaration phyto holds, linked to the certificates it cites now."""
    await connection.execute(
        update(declarations)
        .where(declarations.c.declaration_id == declaration_id)
        .values(version=version, body=body, inspection=None)
    )
    await unlink(connection, declaration_id)
    await _link(connection, declaration_id, numbers)


async def unlink(connection: AsyncConnection, declaration_id: str) -> None:
    """Forget which certificates the declaration cites: certificates arriving later no longer decide on it."""
    await connection.execute(
        delete(declaration_certificates).where(declaration_certificates.c.declaration_id == declaration_id)
    )


async def _link(connection: AsyncConnection, declaration_id: str, numbers: set[str]) -> None:
    if numbers:
        await connection.execute(_INSERT_LINK, links(declaration_id, numbers))


def links(declaration_id: str, numbers: set[str]) -> list[dict[str, str]]:
    """The rows that say a declaration cites these certificate numbers."""
    return [{"declaration_id": declaration_id, "certificate_number": number} for number in sorted(numbers)]


_INSERT_LINK = insert(declaration_certificates)
_INSERT_DECLARATION = insert(declarations)
_INSERT_DECISION = insert(decisions)
_HELD = select(declarations.c.declaration_id).where(declarations.c.declaration_id.in_(bindparam("ids", expanding=True)))


async def held(connection: AsyncConnection, declaration_ids: list[str]) -> set[str]:
    """Which of these declarations phyto holds."""
    return set(await connection.scalars(_HELD, {"ids": declaration_ids}))


async def save_decided(
    connection: AsyncConnection,
    declaration_rows: list[dict[str, Any]],
    link_rows: list[dict[str, str]],
    decision_rows: list[dict[str, Any]],
) -> None:
    """Declarations phyto did not hold, with what they cite and their first decisions, in three statements."""
    await connection.execute(_INSERT_DECLARATION, declaration_rows)
    if link_rows:
        await connection.execute(_INSERT_LINK, link_rows)
    await connection.execute(_INSERT_DECISION, decision_rows)


_CITING_ANY = (
    select(declaration_certificates.c.certificate_number.label("cited_number"), declarations)
    .join(declarations, declaration_certificates.c.declaration_id == declarations.c.declaration_id)
    .where(declaration_certificates.c.certificate_number.in_(bindparam("numbers", expanding=True)))
    .order_by(declarations.c.declaration_id)
)


async def declarations_citing_any(connection: AsyncConnection, numbers: Iterable[str]) -> dict[str, list[Row[Any]]]:
    """For each of these numbers, the declarations citing it, by declaration id."""
    citing: dict[str, list[Row[Any]]] = {}
    for row in await connection.execute(_CITING_ANY, {"numbers": sorted(set(numbers))}):
        citing.setdefault(row.cited_number, []).append(row)
    return citing


_UPDATE_STANDING = update(declarations).where(declarations.c.declaration_id == bindparam("standing_of"))


async def record_decisions(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Decisions (rows of `phyto_decisions`, in order), in two statements: each declaration's latest stands."""
    await connection.execute(_INSERT_DECISION, rows)
    latest = {row["declaration_id"]: row for row in rows}
    standings = [
        {"standing_of": key, "outcome": row["outcome"], "reasons": row["reasons"], "last_sequence": row["sequence"]}
        for key, row in latest.items()
    ]
    await connection.execute(_UPDATE_STANDING, standings)


async def record_decision(connection: AsyncConnection, values: dict[str, Any]) -> None:
    """A decision, and the declaration's standing it sets."""
    await record_decisions(connection, [values])


async def record_inspection(connection: AsyncConnection, declaration_id: str, inspection: dict[str, Any]) -> None:
    await connection.execute(
        update(declarations).where(declarations.c.declaration_id == declaration_id).values(inspection=inspection)
    )
