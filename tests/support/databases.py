"""Databases for a test: SQLite files, or fresh databases on the test PostgreSQL server."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg


@dataclass
class Databases:
    """Hands out one database URL per service name, of the kind this test runs on."""

    kind: str
    directory: Path
    admin_url: str | None = None
    created: list[str] = field(default_factory=list)

    async def url(self, service: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite+aiosqlite:///{self.directory}/{service}.db"
        assert self.admin_url is not None
        name = f"t_{service}_{uuid.uuid4().hex[:12]}"
        connection = await asyncpg.connect(f"{self.admin_url}/postgres")
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.created.append(name)
        return f"{self.admin_url.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"

    async def drop_all(self) -> None:
        if not self.created:
            return
        connection = await asyncpg.connect(f"{self.admin_url}/postgres")
        try:
            for name in self.created:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


@asynccontextmanager
async def databases(kind: str, directory: Path, admin_url: str | None) -> AsyncIterator[Databases]:
    handed_out = Databases(kind, directory, admin_url)
    try:
        yield handed_out
    finally:
        await handed_out.drop_all()
