"""The SQL unit of work: one connection, one transaction, every repository bound to it.

Database errors that mean "the database is not reachable" become ``Unavailable("storage_unavailable")`` so the
transport answers UNAVAILABLE and the service keeps running; the pool's pre-ping reconnects once it is back.
"""

from __future__ import annotations

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
        try:
            self.connection = self._engine.connect()
            self._tx = self.connection.begin()
        except (OperationalError, DBAPIError) as exc:
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
        lost = isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False)
        if isinstance(exc, DBAPIError) and lost:
            raise Unavailable("storage_unavailable", "the database is not reachable") from exc
