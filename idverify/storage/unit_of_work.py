"""The SQL unit of work: one connection, one transaction, every repository bound to it.

Database errors that mean "the database is not reachable" become ``Unavailable("storage_unavailable")`` so the
transport answers UNAVAILABLE and the service keeps running; the pool's pre-ping reconnects once it is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError, OperationalError

from idverify.audit import Actor, AuditEntry, AuditLog
from idverify.domain.errors import Unavailable
from idverify.domain.ports import FieldProtector
from idverify.storage.sql_faces import SqlFaceRepository
from idverify.storage.sql_sessions import SqlSessionRepository
from idverify.storage.sql_tokens import SqlTokenRepository

SYSTEM = Actor(caller_id="idverify", role="system")

_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


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
    connection: Connection

    def __init__(self, engine: Engine, protector: FieldProtector, audit: AuditLog | None = None,
                 actor: Callable[[], Actor] = lambda: SYSTEM) -> None:
        self._engine = engine
        self._protector = protector
        self._audit = audit
        self._actor = actor
        self._tx: RootTransaction | None = None

    def record_event(self, *, action: str, object_type: str, object_id: str, outcome: str, reason_code: str = "",
                     details: Mapping[str, object] | None = None) -> None:
        if self._audit is None:
            return
        self._audit.append(self.connection, AuditEntry(
            actor=self._actor(), action=action, object_type=object_type, object_id=object_id, outcome=outcome,
            reason_code=reason_code, details=dict(details or {})))

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
        self.sessions = SqlSessionRepository(self.connection, self._protector)
        self.tokens = SqlTokenRepository(self.connection)
        self.faces = SqlFaceRepository(self.connection, self._protector)
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
            self.connection.close()
            if self._writer_lock is not None:
                self._writer_lock.release()
        lost = isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False)
        if isinstance(exc, DBAPIError) and lost:
            raise Unavailable("storage_unavailable", "the database is not reachable") from exc
