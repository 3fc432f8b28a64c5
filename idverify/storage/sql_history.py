"""``HistoryRepository`` on SQLAlchemy Core: the reads behind a person's own verification history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from idverify.domain.repositories import TokenRecord
from idverify.storage.sql_tokens import _record as token_record
from idverify.storage.tables_cases import dispute_cases
from idverify.storage.tables_sessions import issued_tokens, verification_sessions

S, T, D = verification_sessions, issued_tokens, dispute_cases


class SqlHistoryReader:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def session_ids(self, applicant_id: str, *, before: tuple[datetime, str] | None, limit: int) -> list[str]:
        query = select(S.c.session_id).where(S.c.applicant_id == applicant_id)
        if before is not None:
            at, sid = before
            query = query.where(or_(S.c.created_at < at, and_(S.c.created_at == at, S.c.session_id < sid)))
        query = query.order_by(S.c.created_at.desc(), S.c.session_id.desc()).limit(limit)
        return [str(r[0]) for r in self._conn.execute(query)]

    def tokens(self, session_id: str) -> list[TokenRecord]:
        rows = self._conn.execute(select(T).where(T.c.session_id == session_id)
                                  .order_by(T.c.issued_at.desc())).mappings().all()
        return [token_record(r) for r in rows]

    def disputed(self, session_id: str) -> bool:
        return self._conn.execute(select(D.c.case_id).where(D.c.session_id == session_id).limit(1)).first() is not None
