"""API keys: stored as SHA-256 hashes, looked up per request; created, listed and revoked by operators.

A key is shown once, when it is created; afterwards only its id names it (to list and revoke it)."""

import hashlib
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from services.contract.rules_file import load_rules
from services.gateway.adapters import repository
from services.gateway.domain.callers import Caller, Grant, Role
from services.gateway.service_layer import audit

KEY_PREFIX = "sw_"
_SUBJECTS = {
    Role.TRADER: (re.compile(r"^[A-Z]{2}[A-Z0-9]{1,15}$"), "a trader identifier (EORI), e.g. GB123456789000"),
    Role.NPPO: (re.compile(r"^[A-Z]{2}$"), "the NPPO's ISO 3166 country code, e.g. NL"),
    Role.OFFICER: (re.compile(r"^[a-z][a-z0-9_]{1,31}$"), "the officer's agency code, e.g. customs"),
    Role.CARRIER: (re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$"), "the carrier or terminal code, e.g. GBDVR-FERRYPORT"),
    Role.OPERATOR: (re.compile(r"^$"), "empty: an operator acts for no one"),
}


class KeySpec(BaseModel):
    """What a key may do: its role, whom it acts for, and (operators only) its grants."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    subject: str = ""
    label: str = Field(default="", max_length=200)
    grants: list[Grant] = Field(default_factory=list)

    @model_validator(mode="after")
    def _subject_fits_the_role(self) -> "KeySpec":
        pattern, expected = _SUBJECTS[self.role]
        if not pattern.match(self.subject):
            raise ValueError(f"the subject of a {self.role} key must be {expected}, not {self.subject!r}")
        if self.grants and self.role is not Role.OPERATOR:
            raise ValueError(f"grants are for operator keys; a {self.role} key has its role's access only")
        return self


class KeyEntry(KeySpec):
    key: str = Field(min_length=16)


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def authenticate(connection: AsyncConnection, key: str) -> Caller | None:
    row = await repository.api_key(connection, hash_key(key))
    if row is None:
        return None
    return Caller(Role(row.role), row.subject, row.label, frozenset(Grant(grant) for grant in row.grants or []))


def _values(spec: KeySpec, key: str, now: datetime) -> dict[str, Any]:
    return {
        "key_hash": hash_key(key),
        "key_id": str(ULID()),
        "role": spec.role.value,
        "subject": spec.subject,
        "label": spec.label,
        "grants": [grant.value for grant in spec.grants],
        "created_at": now,
    }


async def create(connection: AsyncConnection, spec: KeySpec, now: datetime, *, actor: str) -> tuple[str, str]:
    """A new key for `spec`: its id and the key itself, which is stored only as a hash and never shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    values = _values(spec, key, now)
    await repository.insert_api_key(connection, values)
    key_id = values["key_id"]
    facts = spec.model_dump(mode="json")
    await audit.on_change(connection, action="ApiKeyCreated", subject=key_id, facts=facts, at=now, actor=actor)
    return key_id, key


async def revoke(connection: AsyncConnection, key_id: str, now: datetime, *, actor: str) -> bool:
    """Revoke the key with this id at once; False when there is no such key not yet revoked."""
    if not await repository.revoke_api_key(connection, key_id, now):
        return False
    await audit.on_change(connection, action="ApiKeyRevoked", subject=key_id, facts={}, at=now, actor=actor)
    return True


async def listing(connection: AsyncConnection) -> list[Row[Any]]:
    """Every key's id, role, subject, label, grants and dates; never a key or its hash."""
    return await repository.api_keys_listing(connection)


def read_key_file(path: Path) -> list[KeyEntry]:
    return load_rules(path, KeyFile).keys


async def seed(connection: AsyncConnection, entries: list[KeyEntry], now: datetime) -> None:
    """Store keys that are not stored yet (development seeding)."""
    for entry in entries:
        await repository.insert_api_key_if_absent(connection, _values(entry, entry.key, now))
