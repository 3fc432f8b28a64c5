"""person history, device keys, SIM swap (issue 18)

Revision ID: 0009_person
Revises: 0008_console
"""

from __future__ import annotations

revision = '0009_person'
down_revision = '0008_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
