"""person history, device keys, SIM swap (issue 18): device_keys, device_proofs, phone_changes

Revision ID: 0009_person
Revises: 0008_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idverify.storage.schema

revision = '0009_person'
down_revision = '0008_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_keys',
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('applicant_id', sa.String(length=128), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('jwk', sa.Text(), nullable=False),
    sa.Column('label', sa.String(length=64), server_default='', nullable=False),
    sa.Column('device_index', sa.String(length=64), nullable=False),
    sa.Column('device_hint', sa.String(length=16), server_default='', nullable=False),
    sa.Column('phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('registered_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('registered_by_session', sa.String(length=40), nullable=False),
    sa.Column('revoked_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_device_keys')),
    sa.UniqueConstraint('registered_by_session', name=op.f('uq_device_keys_registered_by_session'))
    )
    op.create_index('ix_device_keys_applicant', 'device_keys', ['applicant_id', 'registered_at'], unique=False)
    op.create_table('device_proofs',
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=True),
    sa.Column('proved_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_device_proofs'))
    )
    op.create_table('phone_changes',
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('changed_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_phone_changes'))
    )


def downgrade() -> None:
    op.drop_table('phone_changes')
    op.drop_table('device_proofs')
    op.drop_index('ix_device_keys_applicant', table_name='device_keys')
    op.drop_table('device_keys')
