"""transactional outbox (issue 12)

Revision ID: 0010_outbox
Revises: 0009_person
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idverify.storage.schema

revision = '0010_outbox'
down_revision = '0009_person'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_messages',
    sa.Column('message_id', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('sealed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.String(length=64), nullable=False),
    sa.Column('finished_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_status_next', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_next')
    op.drop_table('outbox_messages')
