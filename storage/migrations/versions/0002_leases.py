"""work leases on files, and the page count that decides page fan-out

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 (issue 5: Celery workers on many machines)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot ALTER most things in place; Alembic copies the table there.
    with op.batch_alter_table('files') as batch:
        batch.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('pages', sa.Integer(), nullable=True))
        batch.create_index('ix_files_state_updated', ['state', 'updated_at'])


def downgrade() -> None:
    with op.batch_alter_table('files') as batch:
        batch.drop_index('ix_files_state_updated')
        batch.drop_column('pages')
        batch.drop_column('claimed_by')
        batch.drop_column('lease_until')
