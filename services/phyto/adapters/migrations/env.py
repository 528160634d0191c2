"""Alembic environment of the phyto database."""

from services.contract.database import run_migrations
from services.phyto.adapters.orm import metadata

run_migrations(metadata)
