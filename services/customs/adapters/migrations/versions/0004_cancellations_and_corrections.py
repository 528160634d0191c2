"""cancelled declarations; post-clearance corrections and their duty differences

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customs_declarations") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "customs_corrections",
        sa.Column("correction_id", sa.String(length=26), nullable=False),
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("released_version", sa.Integer(), nullable=False),
        sa.Column("declaration", sa.JSON(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("difference", sa.String(length=24), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("correction_id"),
    )
    op.create_index("ix_customs_corrections_declaration_id", "customs_corrections", ["declaration_id"])


def downgrade() -> None:
    op.drop_index("ix_customs_corrections_declaration_id", table_name="customs_corrections")
    op.drop_table("customs_corrections")
    with op.batch_alter_table("customs_declarations") as batch:
        batch.drop_column("cancelled_at")
