"""declarations kept for re-decisions and what-if; payments; decision reasons and details; lane optional

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customs_declarations",
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("declaration", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("declaration_id"),
    )
    op.create_table(
        "customs_payments",
        sa.Column("payment_id", sa.String(length=26), nullable=False),
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("amount", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("national_amount", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.String(length=70), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("payment_id"),
    )
    op.create_index("ix_customs_payments_declaration_id", "customs_payments", ["declaration_id"])
    with op.batch_alter_table("customs_decisions") as batch:
        batch.add_column(sa.Column("reasons", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.alter_column("lane", existing_type=sa.String(length=16), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("customs_decisions") as batch:
        batch.alter_column("lane", existing_type=sa.String(length=16), nullable=False)
        batch.drop_column("details")
        batch.drop_column("reasons")
    op.drop_index("ix_customs_payments_declaration_id", table_name="customs_payments")
    op.drop_table("customs_payments")
    op.drop_table("customs_declarations")
