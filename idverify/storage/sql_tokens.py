"""``TokenRepository``: issued tokens, single-use redemption and revocation, on SQLAlchemy Core.

Redemption is one conditional ``UPDATE ... WHERE redeemed_at IS NULL AND revoked_at IS NULL RETURNING``: on
PostgreSQL a concurrent second UPDATE waits for the first to commit and then no longer matches; on SQLite writers
are serialised by ``BEGIN IMMEDIATE``. Either way exactly one caller gets a row back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, bindparam, exists, select

from idverify.domain.errors import InvalidArgument, InvalidToken
from idverify.domain.repositories import TokenRecord
from idverify.storage.tables_cases import identity_freezes
from idverify.storage.tables_sessions import issued_tokens

T = issued_tokens
F = identity_freezes


# Built once: this is the hot path of RedeemToken (see bench/results/rpc.md).
_REDEEM = (
    T.update()
    .where(T.c.jti == bindparam("j"), T.c.redeemed_at.is_(None), T.c.revoked_at.is_(None))
    .values(redeemed_at=bindparam("now"), redeemed_by=bindparam("by"), redemption_id=bindparam("rid"))
    .returning(*T.c)
)
#: The same, in the same statement only while the applicant has no active freeze: a redemption's usual path is one
#: round trip instead of three (read the token, read the freeze, update) on PostgreSQL.
_REDEEM_UNFROZEN = (
    T.update()
    .where(T.c.jti == bindparam("j"), T.c.redeemed_at.is_(None), T.c.revoked_at.is_(None),
           ~exists().where(F.c.applicant_id == T.c.applicant_id, F.c.lifted_at.is_(None)))
    .values(redeemed_at=bindparam("now"), redeemed_by=bindparam("by"), redemption_id=bindparam("rid"))
    .returning(*T.c)
)
_GET = select(T).where(T.c.jti == bindparam("j"))


class SqlTokenRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: TokenRecord) -> None:
        self._conn.execute(
            T.insert().values(
                jti=record.jti,
                session_id=record.session_id,
                applicant_id=record.applicant_id,
                issued_at=record.issued_at,
                expires_at=record.expires_at,
            )
        )

    def get(self, jti: str) -> TokenRecord | None:
        row = self._conn.execute(_GET, {"j": jti}).mappings().first()
        return None if row is None else _record(row)

    def redeem_if_unfrozen(self, jti: str, now: datetime, *, caller_id: str, redemption_id: str
                           ) -> TokenRecord | None:
        row = self._conn.execute(_REDEEM_UNFROZEN, {"j": jti, "now": now, "by": caller_id, "rid": redemption_id}
                                 ).mappings().first()
        return _record(row) if row is not None else None

    def redeem(self, jti: str, now: datetime, *, caller_id: str, redemption_id: str) -> TokenRecord:
        row = self._conn.execute(_REDEEM, {"j": jti, "now": now, "by": caller_id, "rid": redemption_id}
                                 ).mappings().first()
        if row is not None:
            return _record(row)
        existing = self.get(jti)
        if existing is None:
            raise InvalidToken("token_invalid", "the token is not valid", internal_reason="jti not issued here")
        if existing.redeemed_at is not None and existing.redeemed_by == caller_id and existing.redemption_id:
            return existing  # the same caller retrying after a lost answer: the original redemption
        if existing.revoked_at is not None:
            raise InvalidToken("token_revoked", "the token was revoked", internal_reason=existing.revoke_reason)
        raise InvalidToken("token_redeemed", "the token was already redeemed", internal_reason="second redemption")

    def revoke(
        self, *, now: datetime, reason: str, jti: str = "", applicant_id: str = "", session_id: str = ""
    ) -> int:
        selectors = [(T.c.jti, jti), (T.c.applicant_id, applicant_id), (T.c.session_id, session_id)]
        chosen = [(col, value) for col, value in selectors if value]
        if len(chosen) != 1:
            raise InvalidArgument("revoke_target_invalid", "name exactly one of token id, applicant or session")
        col, value = chosen[0]
        result = self._conn.execute(
            T.update()
            .where(col == value, T.c.redeemed_at.is_(None), T.c.revoked_at.is_(None), T.c.expires_at > now)
            .values(revoked_at=now, revoke_reason=reason[:64])
            .returning(T.c.jti)
        )
        return len(result.fetchall())


def _record(row: RowMapping) -> TokenRecord:
    return TokenRecord(
        jti=row["jti"],
        session_id=row["session_id"],
        applicant_id=row["applicant_id"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        redeemed_at=row["redeemed_at"],
        revoked_at=row["revoked_at"],
        revoke_reason=row["revoke_reason"],
        redemption_id=row["redemption_id"] or "",
        redeemed_by=row["redeemed_by"] or "",
    )
