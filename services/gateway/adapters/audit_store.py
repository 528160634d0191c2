"""The audit_log table: records appended in the transaction of what they record, then sealed in order."""

from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.adapters.orm import audit_log
from services.gateway.domain.audit import AuditRecord, Sealed

_RECORD = ("recorded_at", "actor", "action", "subject", "event_id", "correlation_id", "digest")


_APPEND = insert(audit_log)  # built once: the record's values come with each execution


async def append(connection: AsyncConnection, *records: AuditRecord) -> None:
    """Records in order, in one statement."""
    if records:
        await connection.execute(_APPEND, [{name: getattr(record, name) for name in _RECORD} for record in records])


async def head(connection: AsyncConnection) -> Sealed | None:
    query = select(audit_log).where(audit_log.c.position.is_not(None)).order_by(audit_log.c.position.desc()).limit(1)
    row = (await connection.execute(query)).first()
    return None if row is None else _sealed(row)


async def unsealed(connection: AsyncConnection, limit: int) -> list[tuple[int, AuditRecord]]:
    """The oldest records not sealed yet, by id, locked until the transaction ends."""
    return [(row.id, _record(row)) for row in await connection.execute(_UNSEALED, {"most": limit})]


_UNSEALED = (  # built once: the sealer asks every round
    select(audit_log)
    .where(audit_log.c.position.is_(None))
    .order_by(audit_log.c.id)
    .limit(bindparam("most"))
    .with_for_update()
)


_MARK_SEALED = (
    update(audit_log)
    .where(audit_log.c.id == bindparam("record_id"))
    .values(position=bindparam("sealed_position"), previous=bindparam("sealed_previous"), hash=bindparam("sealed_hash"))
)


async def mark_sealed(connection: AsyncConnection, marks: list[tuple[int, Sealed]]) -> None:
    """Write each record's place in the chain (record id, sealed entry): one statement for the whole round."""
    await connection.execute(
        _MARK_SEALED,
        [
            {
                "record_id": record_id,
                "sealed_position": sealed.position,
                "sealed_previous": sealed.previous,
                "sealed_hash": sealed.hash,
            }
            for record_id, sealed in marks
        ],
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
