"""which certificate each certificate replaces (its ADRPN note), to follow a replacement from the number a
declaration cites

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("replaces", sa.String(length=70), nullable=True))
        batch.create_index("ix_certificates_replaces", ["replaces"])


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_index("ix_certificates_replaces")
        batch.drop_column("replaces")
