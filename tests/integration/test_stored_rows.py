"""The rows a lodging is answered from, made from the values written instead of read back (`database.stored_row`),
are the rows the database holds: the same columns, values and types, on SQLite and on PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract.database import create_engine, upgrade, writing
from services.contract.dumped import dumped
from services.gateway.adapters import repository
from services.gateway.adapters.orm import certificates, declaration_versions, declarations, timeline
from services.gateway.bootstrap import MIGRATIONS
from tests.support.databases import Databases


class Lrn(BaseModel):
    lrn: str


AT = datetime(2026, 12, 7, 16, 30, 1, 234567, tzinfo=UTC)
AT_PLUS_TWO = AT.astimezone(timezone(timedelta(hours=2)))  # the same instant, read back in UTC


def as_read(row: Row[Any], read: Row[Any]) -> None:
    assert row._fields == tuple(name for name in read._fields if name in row._fields)
    for name in row._fields:
        mine, theirs = getattr(row, name), getattr(read, name)
        assert (repr(mine), type(mine)) == (repr(theirs), type(theirs)), name


@pytest.fixture
async def engine(database: Databases) -> AsyncIterator[AsyncEngine]:
    """The gateway's database, migrated."""
    made = create_engine(await database.url("gateway"))
    try:
        await upgrade(made, MIGRATIONS)
        yield made
    finally:
        await made.dispose()


async def test_a_new_declarations_rows_are_those_stored(engine: AsyncEngine) -> None:
    values: dict[str, Any] = {
        "id": "01JD0000000000000000000001",
        "declarant_id": "GB123456789000",
        "importer_id": None,
        "lrn": "LRN-ROWS-1",
        "version": 1,
        "body": dumped(Lrn(lrn="LRN-ROWS-1")),
        "body_hash": "0" * 64,
        "required_agencies": ["customs", "phyto"],
        "routing_version": "2026.1",
        "status": "submitted",
        "state": "submitted",
        "status_reasons": [],
        "correlation_id": "c-1",
        "submitted_at": AT,
        "updated_at": AT_PLUS_TWO,
    }
    async with writing(engine) as connection:
        inserted = await repository.insert_declaration(connection, values, set())
        entry = await repository.add_to_timeline(connection, values["id"], AT, "submitted", {"version": 1})
        again = await repository.insert_declaration(connection, values, set())
    assert inserted is not None
    assert again is None  # the LRN taken: nothing written
    async with writing(engine) as connection:
        as_read(inserted.declaration, (await connection.execute(select(declarations))).one())
        as_read(inserted.version, (await connection.execute(select(declaration_versions))).one())
        as_read(entry, (await connection.execute(select(timeline))).one())
        body = await connection.scalar(select(declarations.c.body))
    assert body == {"lrn": "LRN-ROWS-1"}  # a model dumped already is stored as its JSON


async def test_a_new_certificates_row_is_the_one_stored(engine: AsyncEngine) -> None:
    values: dict[str, Any] = {
        "id": "01JC0000000000000000000001",
        "issuing_country": "NL",
        "number": "NL-ROWS-1",
        "body": {"number": "NL-ROWS-1"},
        "body_hash": "1" * 64,
        "hub_delivery_number": None,
        "correlation_id": "c-2",
        "received_at": AT,
        "document": b"<x/>",
    }
    async with writing(engine) as connection:
        stored = await repository.insert_certificate(connection, values)
        again = await repository.insert_certificate(connection, {**values, "id": "01JC0000000000000000000002"})
    assert stored is not None
    assert again is None
    async with writing(engine) as connection:
        as_read(stored, (await connection.execute(select(certificates))).one())
