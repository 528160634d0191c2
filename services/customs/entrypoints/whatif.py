"""What a candidate risk profile would have done to the declarations customs already assessed.

    python -m services.customs.entrypoints.whatif --candidate risk-profile.yaml [--since 2026-11-01] [--json]

Reads the declarations customs stored (SW_CUSTOMS_DATABASE_URL) and the rulebook in force (SW_CUSTOMS_* settings,
random selection key included), assesses each declaration under both profiles on the day it was submitted, and
prints the lane mix of each, the moves between lanes and the first declarations that move. It publishes and
writes nothing. Exit code 2 when the candidate profile or the rulebook in force is invalid, naming file and field.
"""

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import NoReturn

from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contract.database import create_engine
from services.contract.declaration import Declaration
from services.contract.keyed_draw import KeyedDraw, MissingDrawKey
from services.contract.rules_file import RulesFileError
from services.customs.adapters import orm
from services.customs.adapters.rulebook_files import (
    load_profile,
    load_rulebook,
    selectivity_key,
)
from services.customs.domain.rulebook import Rulebook, RulebookError
from services.customs.domain.whatif import LISTED_IDS, Comparison, WhatIf
from services.customs.settings import CustomsSettings

PAGE_SIZE = 1000
INVALID_RULES = 2
NO_DECLARATIONS = 1


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.customs.entrypoints.whatif",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--candidate", type=Path, required=True, metavar="PROFILE", help="candidate risk profile (YAML)"
    )
    parser.add_argument(
        "--since",
        type=date.fromisoformat,
        metavar="DATE",
        help="only declarations submitted on or after this day (UTC)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument(
        "--listed", type=int, default=LISTED_IDS, metavar="N", help=f"changed declaration ids to list ({LISTED_IDS})"
    )
    args = parser.parse_args(argv)

    settings = CustomsSettings.load()
    current, candidate = _rulebooks(settings, args.candidate)
    _require_database_file(settings.database_url)
    report = asyncio.run(what_if(settings.database_url, current, candidate, since=args.since, listed=args.listed))
    sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n" if args.json else report.as_table())


def _rulebooks(settings: CustomsSettings, candidate_profile: Path) -> tuple[Rulebook, Rulebook]:
    """The rulebook in force, and the same with the candidate profile; exits 2 naming what is wrong."""
    try:
        current = load_rulebook(settings, KeyedDraw(selectivity_key(settings, create=False)))
    except MissingDrawKey as exc:
        _exit(INVALID_RULES, str(exc))
    except (RulesFileError, RulebookError) as exc:
        _exit(INVALID_RULES, f"the rulebook in force is invalid: {exc}")
    try:
        return current, load_profile(candidate_profile, current)
    except RulesFileError as exc:
        _exit(INVALID_RULES, f"invalid candidate profile: {exc}")
    except RulebookError as exc:
        _exit(INVALID_RULES, f"invalid candidate profile: {candidate_profile}: {exc}")


def _require_database_file(url: str) -> None:
    """A SQLite file must exist: connecting would create an empty one and report nothing."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.drivername.startswith("sqlite") and database and database != ":memory:" and not Path(database).exists():
        _exit(NO_DECLARATIONS, f"no customs database at {database} (SW_CUSTOMS_DATABASE_URL)")


async def what_if(url: str, current: Rulebook, candidate: Rulebook, *, since: date | None, listed: int) -> WhatIf:
    comparison = Comparison(current, candidate, listed=listed)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda sync: inspect(sync).has_table(orm.declarations.name))
        if not found:
            _exit(
                NO_DECLARATIONS,
                f"the database SW_CUSTOMS_DATABASE_URL names has no {orm.declarations.name} table: "
                "give the customs service's database",
            )
        async for page in _stored_declarations(engine, since):
            for declaration_id, declaration, submitted_on in page:
                comparison.add(declaration_id, declaration, submitted_on)
    finally:
        await engine.dispose()
    return comparison.result()


async def _stored_declarations(
    engine: AsyncEngine, since: date | None
) -> AsyncIterator[list[tuple[str, Declaration, date]]]:
    """Pages of (declaration id, declaration, day submitted) in id order, each read in its own short transaction:
    on SQLite every transaction takes the write lock (see create_engine), and the service must not wait for us."""
    table = orm.declarations
    # Cancelled declarations brought no goods: they are left out of the lane mix. Amended ones count once, as
    # their latest version.
    query = select(table.c.declaration_id, table.c.declaration, table.c.submitted_at).where(
        table.c.cancelled_at.is_(None)
    )
    if since is not None:
        query = query.where(table.c.submitted_at >= datetime.combine(since, time.min, UTC))
    after = ""
    while True:
        page_query = query.where(table.c.declaration_id > after).order_by(table.c.declaration_id).limit(PAGE_SIZE)
        async with engine.connect() as connection:
            page = (await connection.execute(page_query)).all()
        if not page:
            return
        yield [
            (row.declaration_id, Declaration.model_validate(row.declaration), row.submitted_at.date()) for row in page
        ]
        after = page[-1].declaration_id


def _exit(code: int, message: str) -> NoReturn:
    sys.stderr.write(f"whatif: {message}\n")
    raise SystemExit(code)


if __name__ == "__main__":
    main()
