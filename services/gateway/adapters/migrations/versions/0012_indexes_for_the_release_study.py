"""indexes for the Time Release Study and the operator overview: lodgement and decision times

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_declarations_submitted_at", "declarations", ["submitted_at"])
    op.create_index("ix_agency_decisions_received_at", "agency_decisions", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_agency_decisions_received_at", table_name="agency_decisions")
    op.drop_index("ix_declarations_submitted_at", table_name="declarations")
