"""api keys: an id to name a key by (list, revoke) without its secret, and an operator key's grants

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from ulid import ULID

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=26), nullable=True))
        batch.add_column(sa.Column("grants", sa.JSON(), nullable=True))
    keys = sa.table("api_keys", sa.column("key_hash", sa.String), sa.column("key_id", sa.String))
    connection = op.get_bind()
    for (key_hash,) in connection.execute(sa.select(keys.c.key_hash)).all():
        connection.execute(keys.update().where(keys.c.key_hash == key_hash).values(key_id=str(ULID())))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("key_id", existing_type=sa.String(length=26), nullable=False)
        batch.create_index("ix_api_keys_key_id", ["key_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_key_id")
        batch.drop_column("grants")
        batch.drop_column("key_id")
