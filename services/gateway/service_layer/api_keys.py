"""API keys: stored as SHA-256 hashes, looked up per request."""

import hashlib
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contract.rules_file import load_rules
from services.gateway.adapters import repository
from services.gateway.domain.callers import Caller, Role


class KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=16)
    role: Role
    subject: str = ""
    label: str = ""


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def authenticate(connection: AsyncConnection, key: str) -> Caller | None:
    row = await repository.api_key(connection, hash_key(key))
    return None if row is None else Caller(Role(row.role), row.subject, row.label)


def read_key_file(path: Path) -> list[KeyEntry]:
    return load_rules(path, KeyFile).keys


async def seed(connection: AsyncConnection, entries: list[KeyEntry], now: datetime) -> None:
    """Store keys that are not stored yet (development seeding)."""
    for entry in entries:
        await repository.insert_api_key_if_absent(
            connection,
            {
                "key_hash": hash_key(entry.key),
                "role": entry.role.value,
                "subject": entry.subject,
                "label": entry.label,
                "created_at": now,
            },
        )
