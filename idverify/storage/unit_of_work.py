"""The SQL unit of work: one connection, one transaction, every repository bound to it.

One RPC opens one unit of work: it reads, decides, writes and audits in this one transaction, so an action and
its audit entry (and, once the outbox exists, its outgoing messages) commit together or not at all.

Database errors that mean "the database is not reachable" become ``Unavailable("storage_unavailable")`` so the
transport answers UNAVAILABLE and the service keeps running; connections that sat idle are pinged before use
(``storage.engine.ping_when_idle``) and a failed one is replaced, so the service reconnects once it is back.

Storage does not know the audit log's format: the composition root passes ``recorder``, which turns an
``AuditEvent`` into an entry of the tamper-evident trail on the same connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError, OperationalError

from idverify.domain.errors import Unavailable
from idverify.domain.ports import FieldProtector
from idverify.domain.repositories import AuditEvent
from idverify.storage.counters import SqlCounterStore
from idverify.storage.otp_store import SqlOtpStore
from idverify.storage.sql_devices import SqlDeviceRepository
from idverify.storage.sql_faces import SqlFaceRepository
from idverify.storage.sql_freezes import SqlFreezeRepository
from idverify.storage.sql_history import SqlHistoryReader
from idverify.storage.sql_outbox import SqlOutbox
from idverify.storage.sql_sessions import SqlSessionRepository
from idverify.storage.sql_tokens import AuditRow, SqlTokenRepository

_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


Recorder = Callable[[Connection, AuditEvent], None]


def writer_lock(engine: Engine) -> threading.Lock | None:
    """One in-process lock per SQLite engine. SQLite allows one writer at a time anyway (every transaction here
    begins IMMEDIATE); queueing on a Python lock hands over at once, where SQLite's busy handler sleeps and retries
    (which cost 5x in RedeemToken throughput with 8 concurrent clients, bench/results/rpc.md). PostgreSQL: none."""
    if engine.dialect.name != "sqlite":
        return None
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(engine), threading.Lock())


class SqlUnitOfWork:
    """``with uow_factory() as uow: ...`` commits on success and rolls back on any exception."""

    sessions: SqlSessionRepository
    tokens: SqlTokenRepository
    faces: SqlFaceRepository
    freezes: SqlFreezeRepository
    devices: SqlDeviceRepository
    history: SqlHistoryReader
    otp_codes: SqlOtpStore
    otp_counters: SqlCounterStore
    totp: Any
    outbox: SqlOutbox
    connection: Connection

    def __init__(self, engine: Engine, protector: FieldProtector, recorder: Recorder | None = None,
                 *, totp: Callable[[Connection], Any] | None = None,
                 outbox: Callable[[Connection], SqlOutbox] | None = None,
                 audit_row: AuditRow | None = None) -> None:
        """``totp`` builds the TOTP store on this unit of work's connection (it needs the data keys); ``outbox``
        the outbox (the composition root wires its clock, ids and the dispatcher's wake-up); ``audit_row`` makes
        the stored row of an event without inserting it, so a repository can insert it in its own statement (the
        redemption's, on PostgreSQL)."""
        self._engine = engine
        self._protector = protector
        self._recorder = recorder
        self._audit_row = audit_row if recorder is not None else None
        self._totp_factory = totp
        self._outbox_factory = outbox
        self._tx: RootTransaction | None = None

    def record_event(self, *, action: str, object_type: str, object_id: str, outcome: str, reason_code: str = "",
                     details: Mapping[str, object] | None = None) -> None:
        if self._recorder is None:
            return
        self._recorder(self.connection, AuditEvent(action=action, object_type=object_type, object_id=object_id,
                                                   outcome=outcome, reason_code=reason_code,
                                                   details=dict(details or {})))

    def _record(self, event: AuditEvent) -> None:
        assert self._recorder is not None
        self._recorder(self.connection, event)

    def __enter__(self) -> SqlUnitOfWork:
        self._writer_lock = writer_lock(self._engine)
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            self.connection = self._engine.connect()
            self._tx = self.connection.begin()
        except (OperationalError, DBAPIError) as exc:
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise Unavailable("storage_unavailable", "the database is not reachable") from exc
        conn = self.connection
        self.sessions = SqlSessionRepository(conn, self._protector)
        self.tokens = SqlTokenRepository(conn, record=self._record if self._recorder is not None else None,
                                         audit_row=self._audit_row)
        self.faces = SqlFaceRepository(conn, self._protector)
        self.freezes = SqlFreezeRepository(conn)
        self.devices = SqlDeviceRepository(conn, self._protector)
        self.history = SqlHistoryReader(conn)
        self.otp_codes = SqlOtpStore(conn)
        self.otp_counters = SqlCounterStore(conn)
        self.totp = self._totp_factory(conn) if self._totp_factory is not None else None
        self.outbox = self._outbox_factory(conn) if self._outbox_factory else SqlOutbox(conn, self._protector)
        self._restore_outbox = self.outbox.activate()  # ports without a unit of work queue into this one
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._tx is not None
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        except (OperationalError, DBAPIError) as err:
            if exc_type is None:
                raise Unavailable("storage_unavailable", "the database is not reachable") from err
        finally:
            self._restore_outbox()
            self.connection.close()
            if self._writer_lock is not None:
                self._writer_lock.release()
        if exc_type is None:
            self.outbox.committed()
        lost = isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False)
        if isinstance(exc, DBAPIError) and lost:
            raise Unavailable("storage_unavailable", "the database is not reachable") from exc
