"""Operators create, list and revoke API keys in the gateway's database (SW_GATEWAY_DATABASE_URL).

    python -m services.gateway.entrypoints.keys create --role trader --subject GB123456789000 --label "Roses Ltd"
    python -m services.gateway.entrypoints.keys create --role operator --grant trade:read --label "auditor"
    python -m services.gateway.entrypoints.keys list
    python -m services.gateway.entrypoints.keys revoke 01JDQ4Z9Y8X7W6V5T4S3R2Q1P0

`create` prints the key once, on standard output, and its id; the database keeps only a hash. A revoked key
is refused from the next request on. The database is migrated to the gateway's schema first. Both changes go
into the audit trail with the operating-system user who ran the command as the actor (`cli:<user>`).
"""

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract.database import create_engine, upgrade
from services.gateway.bootstrap import MIGRATIONS
from services.gateway.domain.callers import Grant, Role
from services.gateway.service_layer import api_keys
from services.gateway.settings import GatewaySettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--subject", default="", help="whom the key acts for: EORI, country, agency, carrier code")
    create.add_argument("--label", default="", help="who holds it, for the logs and the audit trail")
    create.add_argument("--grant", action="append", default=[], choices=[grant.value for grant in Grant])
    commands.add_parser("list", help="every key's id, role, subject, label and dates (never the key)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)
    if args.command == "create":
        try:
            spec = api_keys.KeySpec(role=args.role, subject=args.subject, label=args.label, grants=args.grant)
        except ValidationError as exc:
            _fail(exc.errors()[0]["msg"])
            return 2
        return asyncio.run(_create(spec))
    if args.command == "list":
        return asyncio.run(_list())
    return asyncio.run(_revoke(args.key_id))


async def _create(spec: api_keys.KeySpec) -> int:
    engine = await _engine()
    try:
        async with engine.begin() as connection:
            key_id, key = await api_keys.create(connection, spec, datetime.now(UTC), actor=_operator())
    finally:
        await engine.dispose()
    acting = f" {spec.subject}" if spec.subject else ""
    sys.stdout.write(f"key id {key_id} ({spec.role}{acting}); the key, shown once:\n{key}\n")
    return 0


async def _list() -> int:
    engine = await _engine()
    try:
        async with engine.connect() as connection:
            rows = await api_keys.listing(connection)
    finally:
        await engine.dispose()
    lines = [f"{'key id':26}  {'role':8}  {'subject':16}  {'created':20}  {'revoked':20}  label, grants"]
    for row in rows:
        revoked = row.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ") if row.revoked_at else "-"
        grants = f" [{', '.join(row.grants)}]" if row.grants else ""
        created = row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{row.key_id:26}  {row.role:8}  {row.subject or '-':16}  {created:20}  {revoked:20}  ")
        lines[-1] += f"{row.label}{grants}"
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


async def _revoke(key_id: str) -> int:
    engine = await _engine()
    try:
        async with engine.begin() as connection:
            revoked = await api_keys.revoke(connection, key_id, datetime.now(UTC), actor=_operator())
    finally:
        await engine.dispose()
    if not revoked:
        _fail(f"no key {key_id} that is not revoked already")
        return 1
    sys.stdout.write(f"key {key_id} revoked\n")
    return 0


def _operator() -> str:
    """Who runs the command, for the audit trail: the login name, or the uid where there is none."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return f"cli:uid-{os.getuid()}"


async def _engine() -> AsyncEngine:
    engine = create_engine(GatewaySettings.load().database_url)
    await upgrade(engine, MIGRATIONS)
    return engine


def _fail(message: str) -> None:
    sys.stderr.write(f"keys: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
