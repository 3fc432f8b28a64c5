"""staff console (issue 17)

Revision ID: 0008_console
Revises: 0007_liveness
"""

from __future__ import annotations

revision = '0008_console'
down_revision = '0007_liveness'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
