"""declarations kept for re-decisions and what-if; decision details; lane absent when not assessed

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
    with op.batch_alter_table("customs_decisions") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.alter_column("lane", existing_type=sa.String(length=16), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("customs_decisions") as batch:
        batch.alter_column("lane", existing_type=sa.String(length=16), nullable=False)
        batch.drop_column("details")
    op.drop_table("customs_declarations")
