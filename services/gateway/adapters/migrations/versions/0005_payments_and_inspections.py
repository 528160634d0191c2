"""payments recorded by traders, inspection results recorded by officers

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
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("amount", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=70), nullable=False),
        sa.Column("recorded_by", sa.String(length=17), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("declaration_id", "reference", name="uq_payments_declaration_reference"),
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("referred_to", sa.String(length=32), nullable=True),
        sa.Column("officer", sa.String(length=255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inspections_declaration_id", "inspections", ["declaration_id"])


def downgrade() -> None:
    op.drop_index("ix_inspections_declaration_id", table_name="inspections")
    op.drop_table("inspections")
    op.drop_table("payments")
