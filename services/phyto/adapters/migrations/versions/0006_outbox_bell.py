"""the outbox rings the publishing instance's relay at each commit that put events in it (PostgreSQL: a trigger
notifying outbox_bell; nothing on SQLite, where the instances ring a named pipe themselves)

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from services.contract.doorbell import no_ring_at_commit, ring_at_commit

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ring_at_commit(op)


def downgrade() -> None:
    no_ring_at_commit(op)
