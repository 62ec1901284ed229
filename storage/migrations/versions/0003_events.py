"""the provenance event chain

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 (issue 6: signed, hash-linked provenance events)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject', 'seq', name='uq_events_subject_seq')
    )
    op.create_index(op.f('ix_events_subject'), 'events', ['subject'], unique=False)
    op.create_index(op.f('ix_events_type'), 'events', ['type'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_events_type'), table_name='events')
    op.drop_index(op.f('ix_events_subject'), table_name='events')
    op.drop_table('events')
