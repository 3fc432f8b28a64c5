"""hardening and transactional outbox (issues 11, 12)

Revision ID: 0005_core
Revises: 0004_audit_cases_risk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_core'
down_revision = '0004_audit_cases_risk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent redemption (11.4): who redeemed a token, and the id the first answer carried.
    op.add_column("issued_tokens", sa.Column("redemption_id", sa.String(40), nullable=True))
    op.add_column("issued_tokens", sa.Column("redeemed_by", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issued_tokens") as batch:
        batch.drop_column("redeemed_by")
        batch.drop_column("redemption_id")
