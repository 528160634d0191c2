"""clearance state: the single-window state machine beside the v1 status it summarises

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The v1 status of a stored declaration, read as a state. `held` cannot tell whether another agency has
# released the goods, so it reads as under control until the next decision on it recomputes the state.
_STATE_OF_STATUS = {
    "submitted": "submitted",
    "under_control": "accepted",
    "held": "under_control",
    "refused": "refused",
    "released": "released",
    "cancelled": "cancelled",
}


def upgrade() -> None:
    with op.batch_alter_table("declarations") as batch:
        batch.add_column(sa.Column("state", sa.String(length=32), nullable=True))
    declarations = sa.table("declarations", sa.column("status", sa.String), sa.column("state", sa.String))
    for status, state in _STATE_OF_STATUS.items():
        op.execute(declarations.update().where(declarations.c.status == status).values(state=state))
    with op.batch_alter_table("declarations") as batch:
        batch.alter_column("state", existing_type=sa.String(length=32), nullable=False)
        batch.create_index("ix_declarations_state", ["state"])


def downgrade() -> None:
    with op.batch_alter_table("declarations") as batch:
        batch.drop_index("ix_declarations_state")
        batch.drop_column("state")
