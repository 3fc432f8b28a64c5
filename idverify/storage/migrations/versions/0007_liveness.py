"""liveness captures and challenge budget (issue 20)

Revision ID: 0007_liveness
Revises: 0006_audit
"""

from __future__ import annotations

revision = '0007_liveness'
down_revision = '0006_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
