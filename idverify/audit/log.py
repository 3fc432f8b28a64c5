"""Appending to the audit chain inside the caller's transaction, and signing checkpoints."""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from idverify.audit.entry import (
    GENESIS_HASH,
    AuditEntry,
    SealedEntry,
    checkpoint_message,
    seal,
)
from idverify.domain.errors import Aborted, FailedPrecondition, InvalidArgument
from idverify.domain.ports import Clock
from idverify.storage.tables_audit import (
    audit_chain_head,
    audit_checkpoints,
    audit_entries,
)

_HEAD_ID = 1


class AuditLog:
    """The tamper-evident audit trail.

    ``append`` writes in the caller's transaction: the action and its entry commit or roll back together.
    Appenders serialise on the one-row ``audit_chain_head`` (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite
    the engine's ``BEGIN IMMEDIATE`` already holds the write lock), so the chain never forks.
    Every ``checkpoint_every`` entries, and on :meth:`checkpoint`, the head is signed with the Ed25519 key.
    """

    def __init__(
        self,
        *,
        signing_key: Ed25519PrivateKey,
        kid: str,
        clock: Clock,
        checkpoint_every: int = 1000,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        if not kid:
            raise ValueError("a checkpoint key needs a kid")
        self._key = signing_key
        self._kid = kid
        self._clock = clock
        self._every = checkpoint_every

    def __repr__(self) -> str:
        return f"AuditLog(kid={self._kid!r}, checkpoint_every={self._every}, signing_key=<redacted>)"

    def append(self, conn: Connection, entry: AuditEntry) -> SealedEntry:
        """Sequence, chain and insert ``entry`` in ``conn``'s open transaction; return the stored entry.

        Raises ``InvalidArgument("audit_details_personal_data" | "audit_details_unsupported")`` for bad details
        and ``FailedPrecondition("audit_no_transaction")`` when ``conn`` has no transaction begun.
        """
        if not conn.in_transaction():
            raise FailedPrecondition("audit_no_transaction", "append the audit entry inside the action's transaction")
        last_seq, last_hash = self._lock_head(conn)
        sealed = seal(entry, seq=last_seq + 1, at=self._clock.now(), prev_hash=last_hash)
        # Statements are built once (module level) and executed with parameters: on the RedeemToken path the
        # per-call construction of SQLAlchemy constructs cost more than the SQL itself (bench/results/rpc.md).
        conn.execute(
            _INSERT_ENTRY,
            {
                "seq": sealed.seq,
                "at": sealed.at,
                "actor_id": sealed.actor_id,
                "actor_role": sealed.actor_role,
                "action": sealed.action,
                "object_type": sealed.object_type,
                "object_id": sealed.object_id,
                "outcome": sealed.outcome,
                "reason_code": sealed.reason_code,
                "purpose": sealed.purpose,
                "details": sealed.details_json,
                "prev_hash": sealed.prev_hash,
                "entry_hash": sealed.entry_hash,
            },
        )
        moved = conn.execute(
            _MOVE_HEAD, {"old_seq": last_seq, "new_seq": sealed.seq, "new_hash": sealed.entry_hash}
        )
        if moved.rowcount != 1:
            # Cannot happen while the head row is locked; refuse rather than fork the chain if it ever does.
            raise Aborted("audit_chain_contended", "the audit chain head moved; retry the action")
        if sealed.seq % self._every == 0:
            self._sign(conn, sealed.seq, sealed.entry_hash, sealed.at)
        return sealed

    def checkpoint(self, conn: Connection) -> int | None:
        """Sign the current head now (in ``conn``'s transaction). Returns its seq, or None for an empty chain."""
        if not conn.in_transaction():
            raise FailedPrecondition("audit_no_transaction", "checkpoint inside a transaction")
        last_seq, last_hash = self._lock_head(conn)
        if last_seq == 0:
            return None
        exists = conn.execute(select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == last_seq)).first()
        if exists is None:
            self._sign(conn, last_seq, last_hash, self._clock.now())
        return last_seq

    def _sign(self, conn: Connection, seq: int, entry_hash: str, at: datetime) -> None:
        message = checkpoint_message(seq=seq, entry_hash=entry_hash, at=at, kid=self._kid)
        conn.execute(
            insert(audit_checkpoints).values(
                seq=seq, at=at, entry_hash=entry_hash, kid=self._kid, signature=self._key.sign(message)
            )
        )

    @staticmethod
    def _lock_head(conn: Connection) -> tuple[int, str]:
        row = conn.execute(_LOCK_HEAD).first()
        if row is None:
            _ensure_head(conn)
            row = conn.execute(_LOCK_HEAD).one()
        return int(row.last_seq), str(row.last_hash)


_INSERT_ENTRY = insert(audit_entries)
_MOVE_HEAD = (
    update(audit_chain_head)
    .where(audit_chain_head.c.id == _HEAD_ID, audit_chain_head.c.last_seq == bindparam("old_seq"))
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)
_LOCK_HEAD = (
    select(audit_chain_head.c.last_seq, audit_chain_head.c.last_hash)
    .where(audit_chain_head.c.id == _HEAD_ID)
    .with_for_update()
)


def _ensure_head(conn: Connection) -> None:
    """Create the head row once; concurrent creators are harmless (ON CONFLICT DO NOTHING)."""
    values = {"id": _HEAD_ID, "last_seq": 0, "last_hash": GENESIS_HASH}
    name = conn.dialect.name
    if name == "postgresql":
        conn.execute(postgresql.insert(audit_chain_head).values(values).on_conflict_do_nothing())
    elif name == "sqlite":
        conn.execute(sqlite.insert(audit_chain_head).values(values).on_conflict_do_nothing())
    else:
        raise InvalidArgument("audit_dialect_unsupported", f"audit storage supports sqlite and postgresql, not {name}")
