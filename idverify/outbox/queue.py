"""The dispatcher's side of the outbox table: claim due rows with a lease, then finish, retry or dead-letter them.

Several dispatchers (threads, processes, replicas on one database) share the table safely. A claim is one short
transaction: PostgreSQL picks due rows with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers skip each other's rows
instead of waiting; SQLite has one writer at a time (``BEGIN IMMEDIATE`` and the in-process writer lock). The claim
moves ``next_attempt_at`` to the end of a lease and stamps a fresh ``claim_token``: a dispatcher that dies
mid-delivery leaves the row to be claimed again when the lease ends (at-least-once), and a slow one whose lease
ended cannot overwrite the outcome of whoever claimed the row after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select, update

from idverify.storage.sql_outbox import DEAD, DELIVERED, PENDING
from idverify.storage.tables_outbox import outbox_messages as t
from idverify.storage.unit_of_work import writer_lock


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """One row claimed for one delivery attempt (``attempts`` counts this one)."""

    message_id: str
    channel: str
    event_type: str
    endpoint: str
    payload: bytes | None
    sealed: bool
    attempts: int
    created_at: datetime
    expires_at: datetime | None
    claim_token: str

    def __repr__(self) -> str:
        return f"ClaimedMessage({self.message_id!r}, {self.channel!r}, {self.event_type!r}, attempt={self.attempts})"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A row as operators and tests see it (never the payload)."""

    message_id: str
    channel: str
    event_type: str
    endpoint: str
    status: str
    attempts: int
    last_error: str
    has_payload: bool
    provider_id: str


@dataclass(frozen=True, slots=True)
class QueueDepth:
    pending: int
    oldest_age_s: float


class SqlOutboxQueue:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """Reads too: on SQLite every transaction here begins IMMEDIATE, so each queues on the writer lock rather
        than in SQLite's sleeping busy handler."""
        lock = writer_lock(self._engine)
        if lock is not None:
            lock.acquire()
        try:
            with self._engine.begin() as conn:
                yield conn
        finally:
            if lock is not None:
                lock.release()

    def claim(self, *, now: datetime, lease_s: float, token: str, limit: int = 1) -> list[ClaimedMessage]:
        """Claim up to ``limit`` due pending rows until ``now + lease_s``."""
        with self._transaction() as conn:
            due = conn.execute(
                select(t.c.message_id).where(t.c.status == PENDING, t.c.next_attempt_at <= now)
                .order_by(t.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
            ).scalars().all()
            if not due:
                return []
            rows = conn.execute(
                update(t).where(t.c.message_id.in_(due), t.c.status == PENDING)
                .values(claim_token=token, attempts=t.c.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=lease_s))
                .returning(t.c.message_id, t.c.channel, t.c.event_type, t.c.endpoint, t.c.payload, t.c.sealed,
                           t.c.attempts, t.c.created_at, t.c.expires_at)
            ).all()
        return [ClaimedMessage(r.message_id, r.channel, r.event_type, r.endpoint, r.payload, bool(r.sealed),
                               int(r.attempts), r.created_at, r.expires_at, token) for r in rows]

    def delivered(self, message: ClaimedMessage, *, now: datetime, provider_id: str = "") -> bool:
        """Mark delivered (a sealed payload is cleared). False when the claim was lost to another dispatcher."""
        return self._finish(message, status=DELIVERED, now=now, error="", provider_id=provider_id[:64])

    def dead(self, message: ClaimedMessage, *, now: datetime, error: str) -> bool:
        """Dead-letter: no more attempts (a sealed payload is cleared)."""
        return self._finish(message, status=DEAD, now=now, error=error, provider_id="")

    def retry(self, message: ClaimedMessage, *, at: datetime, error: str) -> bool:
        """Release the claim; the row is due again at ``at``."""
        with self._transaction() as conn:
            result = conn.execute(
                update(t).where(t.c.message_id == message.message_id, t.c.claim_token == message.claim_token,
                                t.c.status == PENDING)
                .values(next_attempt_at=at, claim_token=None, last_error=error[:64]))
        return result.rowcount == 1

    def _finish(self, message: ClaimedMessage, *, status: str, now: datetime, error: str, provider_id: str) -> bool:
        values: dict[str, object] = {"status": status, "finished_at": now, "claim_token": None,
                                     "last_error": error[:64], "provider_id": provider_id}
        if message.sealed:
            values["payload"] = None
        with self._transaction() as conn:
            result = conn.execute(
                update(t).where(t.c.message_id == message.message_id, t.c.claim_token == message.claim_token,
                                t.c.status == PENDING).values(**values))
        return result.rowcount == 1

    def depth(self, now: datetime, channel: str | None = None) -> QueueDepth:
        """Pending rows (of one channel, or all) and the age of the oldest one (0 when none)."""
        query = select(func.count(), func.min(t.c.created_at)).where(t.c.status == PENDING)
        if channel is not None:
            query = query.where(t.c.channel == channel)
        with self._transaction() as conn:
            count, oldest = conn.execute(query).one()
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return QueueDepth(pending=int(count), oldest_age_s=age)

    def purge_finished(self, before: datetime) -> int:
        """Delete delivered rows finished before ``before`` (dead letters stay until an operator acts)."""
        with self._transaction() as conn:
            result = conn.execute(delete(t).where(t.c.status == DELIVERED, t.c.finished_at < before))
        return int(result.rowcount)

    def counts(self) -> dict[tuple[str, str], int]:
        """Rows per (status, channel), for operators."""
        with self._transaction() as conn:
            rows = conn.execute(select(t.c.status, t.c.channel, func.count()).group_by(t.c.status, t.c.channel))
            return {(status, channel): int(n) for status, channel, n in rows}

    def requeue_dead(self, message_ids: list[str] | None, *, now: datetime) -> int:
        """Give dead letters (all, or those named) a fresh set of tries from ``now``. Rows whose sealed payload was
        already cleared cannot be sent again and are left dead. Returns how many were requeued."""
        query = (update(t).where(t.c.status == DEAD, t.c.payload.is_not(None))
                 .values(status=PENDING, attempts=0, next_attempt_at=now, finished_at=None, claim_token=None))
        if message_ids is not None:
            query = query.where(t.c.message_id.in_(message_ids))
        with self._transaction() as conn:
            return int(conn.execute(query).rowcount)

    def get(self, message_id: str) -> OutboxRecord | None:
        with self._transaction() as conn:
            r = conn.execute(select(t).where(t.c.message_id == message_id)).first()
        if r is None:
            return None
        return OutboxRecord(r.message_id, r.channel, r.event_type, r.endpoint, r.status, int(r.attempts),
                            r.last_error, r.payload is not None, r.provider_id)

    def records(self) -> list[OutboxRecord]:
        """Every row, oldest first (operators' view and tests)."""
        with self._transaction() as conn:
            ids = conn.execute(select(t.c.message_id).order_by(t.c.created_at, t.c.message_id)).scalars().all()
        return [r for r in (self.get(i) for i in ids) if r is not None]
