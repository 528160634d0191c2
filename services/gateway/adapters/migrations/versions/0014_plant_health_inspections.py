"""inspections: what a plant-health officer found and ordered (pests, treatment, destruction, re-export)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.add_column(sa.Column("pests_found", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("action", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("treatment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("treatment")
        batch.drop_column("action")
        batch.drop_column("pests_found")
