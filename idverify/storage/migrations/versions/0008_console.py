"""staff console (issue 17): staff authenticators and sessions, indexes for the console's paged lists

Revision ID: 0008_console
Revises: 0007_liveness
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idverify.storage.schema

revision = '0008_console'
down_revision = '0007_liveness'
branch_labels = None
depends_on = None

_INDEXES = (
    ("dispute_cases", "ix_dispute_cases_state_respond_by", ["state", "respond_by", "case_id"]),
    ("dispute_cases", "ix_dispute_cases_respond_by", ["respond_by", "case_id"]),
    ("approval_requests", "ix_approval_requests_status_requested_at", ["status", "requested_at", "approval_id"]),
    ("approval_requests", "ix_approval_requests_requested_at", ["requested_at", "approval_id"]),
    ("audit_entries", "ix_audit_entries_object_id_seq", ["object_id", "seq"]),
    ("audit_entries", "ix_audit_entries_actor_id_seq", ["actor_id", "seq"]),
    ("audit_entries", "ix_audit_entries_action_seq", ["action", "seq"]),
)


def upgrade() -> None:
    op.create_table('staff_totp_credentials',
    sa.Column('staff_id', sa.String(length=128), nullable=False),
    sa.Column('sealed_secret', sa.LargeBinary(), nullable=False),
    sa.Column('digits', sa.Integer(), nullable=False),
    sa.Column('period_s', sa.Integer(), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('last_counter', sa.BigInteger(), nullable=True),
    sa.Column('created_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_totp_credentials'))
    )
    op.create_table('staff_sessions',
    sa.Column('credential_sha256', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=128), nullable=False),
    sa.Column('api_key_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('credential_sha256', name=op.f('pk_staff_sessions'))
    )
    op.create_index(op.f('ix_staff_sessions_staff_id'), 'staff_sessions', ['staff_id'], unique=False)
    op.create_index(op.f('ix_staff_sessions_expires_at'), 'staff_sessions', ['expires_at'], unique=False)
    for table, name, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index(op.f('ix_staff_sessions_expires_at'), table_name='staff_sessions')
    op.drop_index(op.f('ix_staff_sessions_staff_id'), table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_table('staff_totp_credentials')
