"""alerts agencies raise after a release (a withdrawn certificate): the consignments they flag

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(length=36), primary_key=True),
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("certificate_number", sa.String(length=70), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alerts_declaration_id", "alerts", ["declaration_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_declaration_id", table_name="alerts")
    op.drop_table("alerts")
