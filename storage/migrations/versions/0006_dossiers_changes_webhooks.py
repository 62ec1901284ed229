"""dossier codes, the change feed, webhooks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 (issue 7: dossier tracking, results changed since a cursor, webhooks)

- `batches.dossier_code`: the national dossier code (Circular 01/2018/TT-VPCP Art. 19) a batch
  belongs to; several batches may share one (papers handed in later for the same dossier).
- `dossier_counters`: the last sequence number issued per unit code and day, for services that
  issue codes themselves (SOHOA_UNIT_CODE).
- `changes`: one row per result created or corrected, in commit order; its id is the cursor of
  `GET /v1/changes` and of the webhook dispatcher.
- `webhooks`, `webhook_deliveries`, `webhook_attempts`: subscriptions, one delivery per change
  and subscription, and every attempt at it (the delivery log).

Only new tables and an added column: on SQLite nothing is rebuilt, so the search triggers of 0005
stand.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('batches', sa.Column('dossier_code', sa.String(length=40), nullable=True))
    op.create_index('ix_batches_dossier_code', 'batches', ['dossier_code'])
    op.create_table('dossier_counters',
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('day', sa.String(length=6), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit', 'day')
    )
    op.create_table('changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('result_code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_changes_result_code', 'changes', ['result_code'])
    op.create_table('webhooks',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('doc_types', sa.JSON(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('webhook_id', sa.String(length=40), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('result_code', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('webhook_id', 'change_id')
    )
    op.create_index('ix_webhook_deliveries_webhook_id', 'webhook_deliveries', ['webhook_id'])
    op.create_index('ix_webhook_deliveries_state', 'webhook_deliveries', ['state'])
    op.create_table('webhook_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_webhook_attempts_delivery_id', 'webhook_attempts', ['delivery_id'])


def downgrade() -> None:
    op.drop_index('ix_webhook_attempts_delivery_id', table_name='webhook_attempts')
    op.drop_table('webhook_attempts')
    op.drop_index('ix_webhook_deliveries_state', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_webhook_id', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhooks')
    op.drop_index('ix_changes_result_code', table_name='changes')
    op.drop_table('changes')
    op.drop_table('dossier_counters')
    op.drop_index('ix_batches_dossier_code', table_name='batches')
    op.drop_column('batches', 'dossier_code')
