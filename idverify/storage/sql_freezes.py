"""Whether an identity is frozen, read in the unit of work's own transaction.

Every action a freeze must stop (recording a passing factor, completing, issuing or redeeming a token) asks here
inside the transaction that performs it, not in a check of its own beforehand: on SQLite writers are serialised,
so a freeze committed before the action's transaction began is always seen; on PostgreSQL a freeze that commits
while an action is in flight is linearised after it, and the next action (at the latest the redemption) sees it.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from idverify.storage.tables_cases import identity_freezes

F = identity_freezes

_ACTIVE = (
    select(F.c.freeze_id)
    .where(F.c.applicant_id == bindparam("applicant"), F.c.lifted_at.is_(None))
    .limit(1)
)


class SqlFreezeRepository:
    """The unit of work's view of identity freezes (satisfies ``domain.repositories.FreezeRepository``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def is_frozen(self, applicant_id: str) -> bool:
        return self._conn.execute(_ACTIVE, {"applicant": applicant_id}).first() is not None
