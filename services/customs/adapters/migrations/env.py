"""Alembic environment of the customs database."""

from services.contract.database import run_migrations
from services.customs.adapters.orm import metadata

run_migrations(metadata)
