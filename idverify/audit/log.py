"""Appending to the audit trail inside the caller's transaction: one INSERT, no shared row locked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, insert

from idverify.audit.entry import AuditEntry, AuditKey, Checkpoint, StoredEntry, new_entry_id, prepare
from idverify.domain.errors import FailedPrecondition
from idverify.domain.ports import Clock, Random, SystemRandom
from idverify.storage.tables_audit import audit_entries

if TYPE_CHECKING:
    from idverify.audit.verify import ChainReport

_ENTRY_ID_BYTES = 12  # 24 hex + a 16-hex tag: 40 characters, the column's width


class AuditLog:
    """The tamper-evident audit trail's writer.

    ``append`` writes in the caller's transaction: the action and its entry commit or roll back together. The entry
    carries a random id and an HMAC under the audit key, so it cannot be edited or forged without the key. Appenders
    never wait for each other: the order of the trail is fixed a moment later by ``AuditSealer``, which links sealed
    entries into a keyed hash chain and signs and exports checkpoints.
    """

    def __init__(self, *, key: AuditKey, clock: Clock, random: Random | None = None) -> None:
        self._key = key
        self._clock = clock
        self._random: Random = random or SystemRandom()

    def __repr__(self) -> str:
        return "AuditLog(key=<redacted>)"

    @property
    def key(self) -> AuditKey:
        return self._key

    def verify(self, source: Connection | Engine, public_keys: Mapping[str, Ed25519PublicKey],
               exported: Iterable[Checkpoint] = ()) -> ChainReport:
        """Verify the whole trail under this log's key (see :func:`idverify.audit.verify.verify_chain`)."""
        from idverify.audit.verify import verify_chain

        return verify_chain(source, self._key, public_keys, exported=exported)

    def append(self, conn: Connection, entry: AuditEntry) -> StoredEntry:
        """Insert ``entry`` in ``conn``'s open transaction; return it as stored (``seq`` assigned by the database).

        Raises ``InvalidArgument("audit_details_personal_data" | "audit_details_unsupported")`` for bad details
        and ``FailedPrecondition("audit_no_transaction")`` when ``conn`` has no transaction begun.
        """
        if not conn.in_transaction():
            raise FailedPrecondition("audit_no_transaction", "append the audit entry inside the action's transaction")
        stored = self._prepare(entry)
        seq = conn.execute(_INSERT_ENTRY, _columns(stored)).scalar_one()
        return replace(stored, seq=int(seq))

    def row(self, entry: AuditEntry) -> dict[str, Any]:
        """``entry``'s stored row (column -> value, without ``seq``), for a statement that inserts it together with
        the action it records (the redemption's on PostgreSQL); the caller runs it in the action's transaction.
        Raises as ``append`` does for bad details."""
        return _columns(self._prepare(entry))

    def _prepare(self, entry: AuditEntry) -> StoredEntry:
        entry_id = new_entry_id(self._key, self._random.token_bytes(_ENTRY_ID_BYTES))
        return prepare(entry, entry_id=entry_id, at=self._clock.now(), key=self._key)


def _columns(stored: StoredEntry) -> dict[str, Any]:
    return {
        "entry_id": stored.entry_id,
        "at": stored.at,
        "actor_id": stored.actor_id,
        "actor_role": stored.actor_role,
        "action": stored.action,
        "object_type": stored.object_type,
        "object_id": stored.object_id,
        "outcome": stored.outcome,
        "reason_code": stored.reason_code,
        "purpose": stored.purpose,
        "details": stored.details_json,
        "entry_hash": stored.entry_hash,
    }


# Built once: on the RedeemToken path the per-call construction of SQLAlchemy constructs cost more than the SQL.
_INSERT_ENTRY = insert(audit_entries).returning(audit_entries.c.seq)
