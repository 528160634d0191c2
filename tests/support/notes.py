"""A table of notes in a SQLite file of a test's own: what the tests of SQLite's writers write."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract.database import create_engine, writing

METADATA = MetaData()
NOTES = Table("notes", METADATA, Column("id", Integer, primary_key=True), Column("text", String, nullable=False))


@asynccontextmanager
async def notes_database(file: Path, *texts: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `file`, with the notes table and `texts` in it; disposed of when the block ends."""
    engine = create_engine(f"sqlite+aiosqlite:///{file}")
    try:
        async with writing(engine) as connection:
            await connection.run_sync(METADATA.create_all)
            if texts:
                await connection.execute(insert(NOTES), [{"text": text} for text in texts])
        yield engine
    finally:
        await engine.dispose()
