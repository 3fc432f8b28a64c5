"""hardening and transactional outbox (issues 11, 12)

Revision ID: 0005_core
Revises: 0004_audit_cases_risk
"""

from __future__ import annotations

revision = '0005_core'
down_revision = '0004_audit_cases_risk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
