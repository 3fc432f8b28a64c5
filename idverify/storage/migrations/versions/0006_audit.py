"""scalable audit chain and TOTP key ids (issue 12)

Revision ID: 0006_audit
Revises: 0005_core
"""

from __future__ import annotations

revision = '0006_audit'
down_revision = '0005_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
