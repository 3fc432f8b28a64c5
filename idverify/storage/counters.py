"""Shared counters for the one-time-code limits, in the database so they hold across replicas.

One code path for SQLite and PostgreSQL: both speak ``INSERT .. ON CONFLICT .. DO UPDATE .. RETURNING``, reached
through SQLAlchemy's dialect-specific ``insert``. Every decision reads the value the statement itself returned, never
a rowcount (``ON CONFLICT DO NOTHING`` reports rowcount -1 in SQLAlchemy 2.1 unless RETURNING is used).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from idverify.factors.otp_limits import LockoutPolicy, LockoutState
from idverify.storage.tables_otp import otp_cooldowns, otp_counters, otp_lockouts


def dialect_insert(engine: Engine | Connection, table: Any) -> Any:
    """``INSERT`` with ``on_conflict_do_*`` for the engine's dialect (SQLite or PostgreSQL)."""
    name = engine.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"no upsert for dialect {name!r}; idverify supports SQLite and PostgreSQL")


def in_transaction(bind: Engine | Connection) -> AbstractContextManager[Connection]:
    """A transaction of its own on an engine; on a unit of work's connection, that connection, so the statement
    commits or rolls back with the rest of the unit of work."""
    if isinstance(bind, Connection):
        return nullcontext(bind)
    return bind.begin()


class SqlCounterStore:
    """Fixed-window counters, exclusive cool-downs and the applicant lockout (satisfies ``otp.CounterStore``).

    Built on an engine, each call is a transaction of its own; built on a unit of work's connection
    (``SqlUnitOfWork.otp_counters``), each call joins that transaction."""

    def __init__(self, engine: Engine | Connection) -> None:
        self._engine = engine

    def hit(self, key: str, window_start: datetime, expires_at: datetime) -> int:
        ins = dialect_insert(self._engine, otp_counters).values(
            key=key, window_start=window_start, count=1, expires_at=expires_at
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[otp_counters.c.key, otp_counters.c.window_start],
            set_={"count": otp_counters.c.count + 1},
        ).returning(otp_counters.c.count)
        with in_transaction(self._engine) as conn:
            return int(conn.execute(stmt).scalar_one())

    def release(self, key: str, window_start: datetime) -> None:
        stmt = (
            update(otp_counters)
            .where(otp_counters.c.key == key, otp_counters.c.window_start == window_start, otp_counters.c.count > 0)
            .values(count=otp_counters.c.count - 1)
        )
        with in_transaction(self._engine) as conn:
            conn.execute(stmt)

    def count(self, key: str, window_start: datetime) -> int:
        stmt = select(otp_counters.c.count).where(
            otp_counters.c.key == key, otp_counters.c.window_start == window_start
        )
        with in_transaction(self._engine) as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def claim(self, key: str, now: datetime, until: datetime) -> datetime | None:
        ins = dialect_insert(self._engine, otp_cooldowns).values(key=key, until=until)
        stmt = ins.on_conflict_do_update(
            index_elements=[otp_cooldowns.c.key],
            set_={"until": ins.excluded.until},
            where=otp_cooldowns.c.until <= now,
        ).returning(otp_cooldowns.c.until)
        with in_transaction(self._engine) as conn:
            if conn.execute(stmt).first() is not None:
                return None
            current = conn.execute(select(otp_cooldowns.c.until).where(otp_cooldowns.c.key == key)).scalar_one()
            assert isinstance(current, datetime)
            return current

    def release_claim(self, key: str, until: datetime, now: datetime) -> None:
        stmt = (
            update(otp_cooldowns)
            .where(otp_cooldowns.c.key == key, otp_cooldowns.c.until == until)
            .values(until=now)
        )
        with in_transaction(self._engine) as conn:
            conn.execute(stmt)

    def reserve_guess(self, subject: str, now: datetime, policy: LockoutPolicy) -> tuple[bool, LockoutState]:
        """Read, decide with the pure ``policy`` and write, in one transaction holding the subject's row lock
        (``SELECT .. FOR UPDATE`` on PostgreSQL; SQLite transactions here start with ``BEGIN IMMEDIATE``)."""
        ensure = (
            dialect_insert(self._engine, otp_lockouts)
            .values(subject=subject, failures=0, locked_until=None, updated_at=now)
            .on_conflict_do_nothing(index_elements=[otp_lockouts.c.subject])
        )
        with in_transaction(self._engine) as conn:
            conn.execute(ensure)
            row = conn.execute(
                select(otp_lockouts.c.failures, otp_lockouts.c.locked_until)
                .where(otp_lockouts.c.subject == subject)
                .with_for_update()
            ).one()
            state = LockoutState(failures=int(row.failures), locked_until=row.locked_until)
            new = policy.reserve(state, now)
            if new is None:
                return False, state
            conn.execute(
                update(otp_lockouts)
                .where(otp_lockouts.c.subject == subject)
                .values(failures=new.failures, locked_until=new.locked_until, updated_at=now)
            )
            return True, new

    def clear_guesses(self, subject: str) -> None:
        with in_transaction(self._engine) as conn:
            conn.execute(
                update(otp_lockouts)
                .where(otp_lockouts.c.subject == subject)
                .values(failures=0, locked_until=None)
            )

    def lockout_state(self, subject: str) -> LockoutState:
        """For operators: the applicant's consecutive failures and lock."""
        stmt = select(otp_lockouts.c.failures, otp_lockouts.c.locked_until).where(otp_lockouts.c.subject == subject)
        with in_transaction(self._engine) as conn:
            row = conn.execute(stmt).first()
        return LockoutState() if row is None else LockoutState(int(row.failures), row.locked_until)

    def purge(self, now: datetime) -> int:
        """Delete ended windows and cool-downs; returns how many rows went."""
        with in_transaction(self._engine) as conn:
            gone = conn.execute(
                delete(otp_counters).where(otp_counters.c.expires_at <= now).returning(otp_counters.c.key)
            ).all()
            ended = conn.execute(
                delete(otp_cooldowns).where(otp_cooldowns.c.until <= now).returning(otp_cooldowns.c.key)
            ).all()
        return len(gone) + len(ended)
