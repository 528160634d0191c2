"""Alembic environment of the gateway database."""

from services.contract.database import run_migrations
from services.gateway.adapters.orm import metadata

run_migrations(metadata)
