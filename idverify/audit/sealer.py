"""The sealer: orders appended entries into the keyed hash chain, signs checkpoints and exports them.

Appenders only insert their entry. Every ``interval_s`` the sealer (one at a time across replicas: it alone locks
``audit_chain_head``, with ``SKIP LOCKED`` on PostgreSQL so a second sealer just skips the round) reads the entries
written since the last round, checks each entry's MAC, appends them to ``audit_chain`` with their links, moves the
head, and signs a checkpoint with the service's Ed25519 key (stored once a minute). After the commit it is exported
(by default to the log sink, as an ``audit_checkpoint`` line), where someone who can rewrite every table cannot
reach it.

On PostgreSQL, sequence values are taken in one order and committed in another: an entry with a lower ``seq`` can
become visible after a higher one was sealed. Each round seals what is visible above the head; every
``sweep_every`` rounds a sweep also seals entries missing from the chain among those written within
``grace_s`` before the last sealed one. Entries whose MAC does not verify are never sealed; they are reported
(``audit_entry_unauthentic``) and ``verify_chain`` names them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, Row, and_, bindparam, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from idverify.audit.entry import (
    GENESIS_HASH,
    AuditKey,
    Checkpoint,
    StoredEntry,
    chain_link,
    checkpoint_message,
    entry_mac,
    normalise_time,
)
from idverify.domain.errors import InvalidArgument
from idverify.domain.ports import Clock
from idverify.storage.tables_audit import audit_chain, audit_chain_head, audit_checkpoints, audit_entries
from idverify.storage.unit_of_work import writer_lock

log = structlog.get_logger("idverify.audit")

_HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class CheckpointSigner:
    """The Ed25519 key that signs checkpoints, and its kid (published in the JWKS)."""

    private_key: Ed25519PrivateKey
    kid: str

    def __repr__(self) -> str:
        return f"CheckpointSigner(kid={self.kid!r}, private_key=<redacted>)"


def log_checkpoint(checkpoint: Checkpoint) -> None:
    """The default export: one ``audit_checkpoint`` line in the log sink (``idverify audit verify --checkpoints``
    reads these lines back)."""
    log.info("audit_checkpoint", **checkpoint.to_json())


@dataclass(frozen=True, slots=True)
class SealResult:
    sealed: int
    unauthentic: tuple[int, ...]
    checkpoint: Checkpoint | None


class AuditSealer:
    """Seals entries into the chain; ``seal_once`` is one round, ``start``/``stop`` run rounds on a thread."""

    def __init__(self, *, engine: Engine, key: AuditKey, signer: Callable[[], CheckpointSigner], clock: Clock,
                 export: Callable[[Checkpoint], None] = log_checkpoint, batch_size: int = 2000,
                 sweep_every: int = 10, grace_s: float = 120.0, store_every_s: float = 60.0,
                 publish: Callable[[Connection, Checkpoint], None] | None = None) -> None:
        """``publish``: called in the sealing transaction with each checkpoint the database keeps (once a minute),
        e.g. to queue it in the transactional outbox for a webhook receiver outside this database."""
        if batch_size < 1 or sweep_every < 1 or grace_s <= 0 or not 0 <= store_every_s < grace_s:
            raise ValueError("batch_size and sweep_every must be positive, 0 <= store_every_s < grace_s")
        self._store_every = timedelta(seconds=store_every_s)
        self._publish = publish
        self._last_stored: datetime | None = None
        self._engine, self._key, self._signer, self._clock = engine, key, signer, clock
        self._export, self._batch, self._sweep_every, self._grace = export, batch_size, sweep_every, grace_s
        self._rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"AuditSealer(batch_size={self._batch}, key=<redacted>)"

    def seal_once(self) -> SealResult:
        """Seal what is waiting (up to ``batch_size`` entries) in one transaction; export its checkpoint after the
        commit. Returns what was sealed; nothing when another sealer holds the head."""
        lock = writer_lock(self._engine)
        if lock is not None:
            lock.acquire()
        try:
            with self._engine.begin() as conn:
                result = self._seal(conn)
        finally:
            if lock is not None:
                lock.release()
        for seq in result.unauthentic:
            log.error("audit_entry_unauthentic", seq=seq, reason="its MAC does not verify under the audit key")
        if result.checkpoint is not None:
            self._export(result.checkpoint)
        return result

    def drain(self) -> int:
        """Seal until nothing is waiting; returns how many entries were sealed."""
        total = 0
        while True:
            result = self.seal_once()
            total += result.sealed
            if result.sealed < self._batch:
                return total

    def start(self, interval_s: float = 1.0) -> None:
        """Run a round every ``interval_s`` seconds on a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name="audit-sealer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and seal what the last requests wrote."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout_s)
        self._thread = None
        try:
            self.drain()
        except Exception:  # shutting down: the next start seals what is left
            log.exception("audit_seal_failed")

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.drain()
            except Exception:  # a database outage: the next round tries again
                log.exception("audit_seal_failed")

    def _seal(self, conn: Connection) -> SealResult:
        head = _lock_head(conn)
        if head is None:
            return SealResult(0, (), None)
        self._rounds += 1
        rows: list[Row[Any]] = []
        if self._rounds % self._sweep_every == 1 or self._sweep_every == 1:
            rows += conn.execute(_sweep_query(conn, self._grace, self._clock, head.max_entry_seq, self._batch)).all()
        rows += conn.execute(_FRESH, {"after": head.max_entry_seq, "limit": self._batch}).all()
        position, prev, max_seq = int(head.position), str(head.chain_hash), int(head.max_entry_seq)
        links: list[dict[str, Any]] = []
        unauthentic: list[int] = []
        for row in rows[: self._batch]:
            stored = stored_entry(row)
            max_seq = max(max_seq, stored.seq)
            mac = entry_mac(self._key, stored)
            if stored.seq > int(head.legacy_seq) and mac != stored.entry_hash:
                unauthentic.append(stored.seq)
                continue
            position += 1
            link = chain_link(self._key, position=position, entry_seq=stored.seq, entry_mac=mac, prev_hash=prev)
            links.append({"position": position, "entry_seq": stored.seq, "entry_mac": mac, "prev_hash": prev,
                          "chain_hash": link})
            prev = link
        if not links:
            if max_seq != head.max_entry_seq:
                conn.execute(_MOVE_HEAD, {"new_position": position, "new_hash": prev, "new_max": max_seq})
            return SealResult(0, tuple(unauthentic), None)
        conn.execute(insert(audit_chain), links)
        conn.execute(_MOVE_HEAD, {"new_position": position, "new_hash": prev, "new_max": max_seq})
        checkpoint = self._checkpoint(position, prev, max_seq)
        # Every round's checkpoint is exported; the database keeps one a minute (enough for the sweep's low-water
        # mark and for a verification without the exported ones), so the table grows by ~1,440 rows a day.
        if self._last_stored is None or checkpoint.at - self._last_stored >= self._store_every:
            conn.execute(insert(audit_checkpoints).values(
                position=checkpoint.position, at=checkpoint.at, chain_hash=checkpoint.chain_hash,
                max_entry_seq=checkpoint.max_entry_seq, kid=checkpoint.kid, signature=checkpoint.signature))
            self._last_stored = checkpoint.at
            if self._publish is not None:
                self._publish(conn, checkpoint)
        return SealResult(len(links), tuple(unauthentic), checkpoint)

    def _checkpoint(self, position: int, chain_hash: str, max_seq: int) -> Checkpoint:
        signer = self._signer()
        at = normalise_time(self._clock.now())
        message = checkpoint_message(position=position, chain_hash=chain_hash, max_entry_seq=max_seq, at=at,
                                     kid=signer.kid)
        return Checkpoint(position=position, chain_hash=chain_hash, max_entry_seq=max_seq, at=at, kid=signer.kid,
                          signature=signer.private_key.sign(message))


def stored_entry(row: Any) -> StoredEntry:
    """An ``audit_entries`` row as a :class:`StoredEntry`."""
    return StoredEntry(
        seq=int(row.seq), entry_id=row.entry_id, at=row.at, actor_id=row.actor_id, actor_role=row.actor_role,
        action=row.action, object_type=row.object_type, object_id=row.object_id, outcome=row.outcome,
        reason_code=row.reason_code, purpose=row.purpose, details_json=row.details, entry_hash=row.entry_hash,
    )


def _lock_head(conn: Connection) -> Row[Any] | None:
    row = conn.execute(_LOCK_HEAD).first()
    if row is None:
        _ensure_head(conn)
        row = conn.execute(_LOCK_HEAD).first()
    return row


def _sweep_query(conn: Connection, grace_s: float, clock: Clock, max_seq: int, limit: int) -> Any:
    """Entries not in the chain among those after the last checkpoint older than ``grace_s``."""
    cut = clock.now() - timedelta(seconds=grace_s)
    low = conn.execute(
        select(audit_checkpoints.c.max_entry_seq).where(audit_checkpoints.c.at < cut)
        .order_by(audit_checkpoints.c.position.desc()).limit(1)
    ).scalar()
    e = audit_entries
    return (
        select(e)
        .where(and_(e.c.seq > int(low or 0), e.c.seq <= max_seq,
                    ~exists().where(audit_chain.c.entry_seq == e.c.seq)))
        .order_by(e.c.seq)
        .limit(limit)
    )


def _ensure_head(conn: Connection) -> None:
    """Create the head row once; concurrent creators are harmless (ON CONFLICT DO NOTHING)."""
    values = {"id": _HEAD_ID, "position": 0, "chain_hash": GENESIS_HASH, "max_entry_seq": 0, "legacy_seq": 0}
    name = conn.dialect.name
    if name == "postgresql":
        conn.execute(postgresql.insert(audit_chain_head).values(values).on_conflict_do_nothing())
    elif name == "sqlite":
        conn.execute(sqlite.insert(audit_chain_head).values(values).on_conflict_do_nothing())
    else:
        raise InvalidArgument("audit_dialect_unsupported", f"audit storage supports sqlite and postgresql, not {name}")


_LOCK_HEAD = select(audit_chain_head).where(audit_chain_head.c.id == _HEAD_ID).with_for_update(skip_locked=True)
_FRESH = (
    select(audit_entries)
    .where(audit_entries.c.seq > bindparam("after"))
    .order_by(audit_entries.c.seq)
    .limit(bindparam("limit"))
)
_MOVE_HEAD = (
    update(audit_chain_head)
    .where(audit_chain_head.c.id == _HEAD_ID)
    .values(position=bindparam("new_position"), chain_hash=bindparam("new_hash"),
            max_entry_seq=bindparam("new_max"))
)
