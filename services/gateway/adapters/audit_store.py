"""The audit_log table: records appended in the transaction of what they record, then sealed in order."""

from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.adapters.orm import audit_log
from services.gateway.domain.audit import AuditRecord, Sealed

_RECORD = ("recorded_at", "actor", "action", "subject", "event_id", "correlation_id", "digest")


async def append(connection: AsyncConnection, record: AuditRecord) -> None:
    await connection.execute(insert(audit_log).values({name: getattr(record, name) for name in _RECORD}))


async def head(connection: AsyncConnection) -> Sealed | None:
    query = select(audit_log).where(audit_log.c.position.is_not(None)).order_by(audit_log.c.position.desc()).limit(1)
    row = (await connection.execute(query)).first()
    return None if row is None else _sealed(row)


async def unsealed(connection: AsyncConnection, limit: int) -> list[tuple[int, AuditRecord]]:
    """The oldest records not sealed yet, by id, locked until the transaction ends."""
    query = (
        select(audit_log).where(audit_log.c.position.is_(None)).order_by(audit_log.c.id).limit(limit).with_for_update()
    )
    return [(row.id, _record(row)) for row in await connection.execute(query)]


async def mark_sealed(connection: AsyncConnection, record_id: int, sealed: Sealed) -> None:
    await connection.execute(
        update(audit_log)
        .where(audit_log.c.id == record_id)
        .values(position=sealed.position, previous=sealed.previous, hash=sealed.hash)
    )


async def trail(connection: AsyncConnection) -> list[Sealed]:
    query = select(audit_log).where(audit_log.c.position.is_not(None)).order_by(audit_log.c.position)
    return [_sealed(row) for row in await connection.execute(query)]


async def unsealed_count(connection: AsyncConnection) -> int:
    query = select(func.count()).select_from(audit_log).where(audit_log.c.position.is_(None))
    return await connection.scalar(query) or 0


def _record(row: Row[Any]) -> AuditRecord:
    return AuditRecord(**{name: getattr(row, name) for name in _RECORD})


def _sealed(row: Row[Any]) -> Sealed:
    return Sealed(row.position, _record(row), row.previous, row.hash)
