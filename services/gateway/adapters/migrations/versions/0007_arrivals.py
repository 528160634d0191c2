"""arrivals: goods presented at the border, reported by carriers and terminals

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "arrivals",
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("location", sa.String(length=5), nullable=False),
        sa.Column("transport_reference", sa.String(length=70), nullable=True),
        sa.Column("reported_by", sa.String(length=32), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("declaration_id"),
    )


def downgrade() -> None:
    op.drop_table("arrivals")
