"""Each service's alembic migrations build exactly the schema its tables describe."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from services.contract.database import create_engine, upgrade
from services.customs.adapters.orm import metadata as customs_metadata
from services.customs.bootstrap import MIGRATIONS as CUSTOMS_MIGRATIONS
from services.gateway.adapters.orm import metadata as gateway_metadata
from services.gateway.bootstrap import MIGRATIONS as GATEWAY_MIGRATIONS
from services.phyto.adapters.orm import metadata as phyto_metadata
from services.phyto.bootstrap import MIGRATIONS as PHYTO_MIGRATIONS
from tests.support.databases import Databases


@pytest.mark.parametrize(
    ("metadata", "migrations"),
    [
        (gateway_metadata, GATEWAY_MIGRATIONS),
        (customs_metadata, CUSTOMS_MIGRATIONS),
        (phyto_metadata, PHYTO_MIGRATIONS),
    ],
    ids=["gateway", "customs", "phyto"],
)
async def test_migrations_match_the_tables(metadata: MetaData, migrations: Path, database: Databases) -> None:
    engine = create_engine(await database.url("service"))
    await upgrade(engine, migrations)
    await upgrade(engine, migrations)  # a second start finds nothing to do

    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
    await engine.dispose()
