"""liveness captures (colour sequence, mirrored, capture key, attestation) and the liveness evidence of a factor
result (issue 20)

Revision ID: 0007_liveness
Revises: 0006_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idverify.storage.schema

revision = '0007_liveness'
down_revision = '0006_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'liveness_captures',
        sa.Column('challenge_id', sa.String(length=40), nullable=False),
        sa.Column('session_id', sa.String(length=40), nullable=False),
        sa.Column('light', sa.Text(), nullable=False),
        sa.Column('mirrored', sa.Boolean(), nullable=False),
        sa.Column('capture_key', sa.Text(), nullable=True),
        sa.Column('attestation', sa.String(length=16), nullable=True),
        sa.Column('expires_at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('challenge_id', name=op.f('pk_liveness_captures')),
    )
    with op.batch_alter_table('liveness_captures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_liveness_captures_session_id'), ['session_id'], unique=False)
    with op.batch_alter_table('factor_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.String(length=128), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('factor_results', schema=None) as batch_op:
        batch_op.drop_column('evidence')
    with op.batch_alter_table('liveness_captures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_liveness_captures_session_id'))
    op.drop_table('liveness_captures')
