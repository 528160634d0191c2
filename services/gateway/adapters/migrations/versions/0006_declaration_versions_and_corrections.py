"""every version of a declaration, and post-clearance corrections

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = op.create_table(
        "declaration_versions",
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("declaration_id", "version"),
    )
    # Declarations lodged before this revision have one version: the one they hold.
    declarations = sa.table(
        "declarations",
        sa.column("id", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("body", sa.JSON()),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        versions.insert().from_select(
            ["declaration_id", "version", "body", "changed", "lodged_at"],
            sa.select(
                declarations.c.id,
                declarations.c.version,
                declarations.c.body,
                sa.cast(sa.literal("[]"), sa.JSON()),
                declarations.c.submitted_at,
            ),
        )
    )
    op.create_table(
        "corrections",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("declaration_id", sa.String(length=26), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("released_version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=17), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assessment", sa.JSON(), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("declaration_id", "number", name="uq_corrections_declaration_number"),
    )


def downgrade() -> None:
    op.drop_table("corrections")
    op.drop_table("declaration_versions")
