"""transactional outbox (issue 12)

Revision ID: 0010_outbox
Revises: 0009_person
"""

from __future__ import annotations

revision = '0010_outbox'
down_revision = '0009_person'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
