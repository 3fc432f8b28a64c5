"""``TokenRepository``: issued tokens, single-use redemption and revocation, on SQLAlchemy Core.

Redemption is one conditional ``UPDATE ... WHERE redeemed_at IS NULL AND revoked_at IS NULL RETURNING``: on
PostgreSQL a concurrent second UPDATE waits for the first to commit and then no longer matches; on SQLite writers
are serialised by ``BEGIN IMMEDIATE``. Either way exactly one caller gets a row back.

On PostgreSQL the redemption's audit entry rides in the same statement (a data-modifying ``WITH``: the entry is
inserted from the UPDATE's result, so it exists exactly when the token was redeemed), sent through psycopg's
pipeline mode so the transaction's BEGIN travels with it: one round trip where there were three (BEGIN, UPDATE,
INSERT) on the hottest write path; measured in-process, 11-13 % less time per redemption than the same statement
through SQLAlchemy. SQLite has no data-modifying ``WITH``; there the entry follows in a second statement of the same
transaction. On SQLite both statements also go to the driver directly (compiled by SQLAlchemy once, values converted
by the columns' own SQLAlchemy types): SQLAlchemy's per-statement work cost several times what SQLite's did
(docs/reports/single-node-perf.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, RowMapping, bindparam, cast, exists, insert, select

from idverify.domain.errors import InvalidArgument, InvalidToken
from idverify.domain.repositories import AuditEvent, TokenRecord
from idverify.storage.engine import driver_error
from idverify.storage.schema import UtcDateTime
from idverify.storage.tables_audit import audit_entries
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
#: The audit columns the row maker fills (``seq`` is the database's).
_AUDIT_COLUMNS = [c for c in audit_entries.c if c.name != "seq"]
_REDEEMED = _REDEEM_UNFROZEN.cte("redeemed")
#: PostgreSQL: the redemption and its audit entry in one statement; the INSERT reads the UPDATE's result, so the
#: entry is written exactly when a row was redeemed.
_REDEEM_UNFROZEN_AUDITED = select(_REDEEMED).add_cte(
    insert(audit_entries)
    .from_select([c.name for c in _AUDIT_COLUMNS],
                 select(*(cast(bindparam(f"audit_{c.name}", type_=c.type), c.type) for c in _AUDIT_COLUMNS))
                 .select_from(_REDEEMED))
    .cte("audited")
)

_RETURNED = tuple(c.name for c in T.c)
_TIMES = tuple(c.name for c in T.c if isinstance(c.type, UtcDateTime))
_COMPILED: dict[str, str] = {}
#: SQLite: the redemption's audit entry, a second statement in the same transaction.
_AUDIT_INSERT = insert(audit_entries).values({c.name: bindparam(f"audit_{c.name}", type_=c.type)
                                             for c in _AUDIT_COLUMNS})


def _bind_converter(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The converter SQLAlchemy applies to a value of ``type_`` on ``dialect`` (the dialect's implementation of the
    type: the generic one would hand the driver a datetime where SQLAlchemy stores its own text form)."""
    converter: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return converter


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    """A statement compiled once for a dialect with positional parameters, and each parameter's converter (the
    bound column type's own SQLAlchemy bind processor), so it can run on the driver's cursor directly."""

    sql: str
    names: tuple[str, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def compile(cls, statement: Any, dialect: Dialect) -> _DriverStatement:
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        if not names:
            raise ValueError("a driver statement needs positional parameters")
        return cls(compiled.string, names, tuple(_bind_converter(compiled.binds[n].type, dialect) for n in names))

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[n] if convert is None else convert(values[n])
                     for n, convert in zip(self.names, self.converters, strict=True))


@dataclass(frozen=True, slots=True)
class _SqliteRedemption:
    redeem: _DriverStatement
    audit: _DriverStatement
    #: The returned columns' converters (their SQLAlchemy result processors), in ``_RETURNED`` order.
    results: tuple[Callable[[Any], Any] | None, ...]


_SQLITE_PLANS: dict[str, _SqliteRedemption] = {}


def _sqlite_plan(dialect: Dialect) -> _SqliteRedemption:
    plan = _SQLITE_PLANS.get(dialect.name)
    if plan is None:
        plan = _SQLITE_PLANS[dialect.name] = _SqliteRedemption(
            _DriverStatement.compile(_REDEEM_UNFROZEN, dialect), _DriverStatement.compile(_AUDIT_INSERT, dialect),
            tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in T.c))
    return plan


def _compiled(dialect: Dialect) -> str:
    """The audited redemption as the driver's SQL text (compiled once per dialect)."""
    text = _COMPILED.get(dialect.name)
    if text is None:
        text = _COMPILED[dialect.name] = str(_REDEEM_UNFROZEN_AUDITED.compile(dialect=dialect))
    return text


#: Makes the stored audit row (column name -> value) of an event without inserting it.
AuditRow = Callable[[AuditEvent], Mapping[str, Any]]


class SqlTokenRepository:
    def __init__(self, conn: Connection, *, record: Callable[[AuditEvent], None] | None = None,
                 audit_row: AuditRow | None = None) -> None:
        """``record`` appends an event to the audit trail on this connection; ``audit_row`` makes an event's row
        for a statement of this repository's own (see the module doc). Without ``record`` nothing is audited."""
        self._conn = conn
        self._record = record
        self._audit_row = audit_row if conn.dialect.name in {"postgresql", "sqlite"} else None

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

    def redeem_if_unfrozen(self, jti: str, now: datetime, *, caller_id: str, redemption_id: str,
                           record: AuditEvent | None = None) -> TokenRecord | None:
        params: dict[str, Any] = {"j": jti, "now": now, "by": caller_id, "rid": redemption_id}
        if record is not None and self._record is not None and self._audit_row is not None:
            audit = self._audit_row(record)
            params.update({f"audit_{c.name}": audit[c.name] for c in _AUDIT_COLUMNS})
            if self._conn.dialect.name == "sqlite":
                return self._redeem_sqlite(params)
            return self._redeem_pipelined(params)
        row = self._conn.execute(_REDEEM_UNFROZEN, params).mappings().first()
        if row is None:
            return None
        if record is not None and self._record is not None:
            self._record(record)
        return _record(row)

    def _redeem_pipelined(self, params: dict[str, Any]) -> TokenRecord | None:
        """PostgreSQL: the audited redemption through psycopg's pipeline mode, so the transaction's BEGIN travels
        with the statement (one round trip instead of two; the COMMIT follows at the end of the unit of work).
        SQLAlchemy executes nothing here, so its error translation is done by hand: a driver error becomes the
        same ``DBAPIError`` subclass SQLAlchemy would raise, and a lost connection is invalidated."""
        dialect = self._conn.dialect
        sql = _compiled(dialect)
        for key in ("now", "audit_at"):
            value = params[key]
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UtcDateTime column")
            params[key] = value.astimezone(UTC)
        raw: Any = self._conn.connection.dbapi_connection
        try:
            with raw.pipeline(), raw.cursor() as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
        except dialect.loaded_dbapi.Error as exc:
            raise driver_error(self._conn, exc, raw, sql, params) from exc
        if row is None:
            return None
        values = dict(zip(_RETURNED, row, strict=True))
        for key in _TIMES:
            if values[key] is not None:
                values[key] = values[key].astimezone(UTC)
        return _record(values)

    def _redeem_sqlite(self, params: Mapping[str, Any]) -> TokenRecord | None:
        """SQLite: the redemption and, when it redeemed, its audit entry, on the driver's cursor in the unit of
        work's transaction (its ``BEGIN IMMEDIATE`` holds the write lock). The values go through the same column
        types' converters SQLAlchemy applies, so the rows are the ones the SQLAlchemy statements write (a test
        compares them); a driver error becomes the ``DBAPIError`` SQLAlchemy would raise."""
        plan = _sqlite_plan(self._conn.dialect)
        raw: Any = self._conn.connection.dbapi_connection
        sql, args = plan.redeem.sql, plan.redeem.parameters(params)
        try:
            cur = raw.cursor()
            try:
                rows = cur.execute(sql, args).fetchall()  # SQLite makes every change at the first step
                if not rows:
                    return None
                sql, args = plan.audit.sql, plan.audit.parameters(params)
                cur.execute(sql, args)
            finally:
                cur.close()
        except self._conn.dialect.loaded_dbapi.Error as exc:
            raise driver_error(self._conn, exc, raw, sql, args) from exc
        return _record({name: value if convert is None else convert(value)
                        for name, value, convert in zip(_RETURNED, rows[0], plan.results, strict=True)})

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


def _record(row: RowMapping | Mapping[str, Any]) -> TokenRecord:
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
