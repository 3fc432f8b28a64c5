"""Engine creation: SQLite (WAL, foreign keys, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, StatementError


def driver_error(conn: Connection, exc: Any, raw: Any, sql: str, params: Mapping[str, Any] | Sequence[Any]
                 ) -> StatementError:
    """What SQLAlchemy would raise for ``exc``, a driver error on a statement run on ``conn``'s driver connection
    ``raw`` directly (parameters hidden); a lost connection is invalidated first, as SQLAlchemy does."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(exc, raw, None)
    if lost:
        conn.invalidate(exc)
    error: StatementError = DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                                                connection_invalidated=lost, dialect=dialect)
    return error


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file (development and single-machine deployments)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, *, echo: bool = False, prepared_statements: bool = True, pool_size: int | None = None,
                **kwargs: Any) -> Engine:
    """Create an engine for ``url``. Nothing connects until first use.

    ``pool_size`` is the number of connections kept open (SQLAlchemy's default is 5, plus 10 opened and closed on
    demand): give it the number of threads that use the engine at once. An in-memory SQLite database has a pool
    of its own kind and ignores it.

    ``prepared_statements=False`` is for PostgreSQL behind PgBouncer in transaction mode: consecutive
    transactions may land on different server connections, so psycopg must never prepare (prepare_threshold=None).

    SQLite files get WAL journaling, ``synchronous=NORMAL`` (durable across process kills, which is what WAL
    guarantees), foreign keys and a 5 s busy timeout so concurrent writers wait instead of failing.
    """
    parsed = make_url(url)
    in_memory = parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
    if pool_size is not None and not in_memory and "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", OVERFLOW)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, echo=echo, connect_args={"timeout": 5.0, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling is disabled so SQLAlchemy's BEGIN is the real one;
            # BEGIN IMMEDIATE takes the write lock up front, which makes read-then-write races impossible.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # On the driver directly: through ``exec_driver_sql`` an empty transaction took 62 us of CPU instead of
            # 32 (in-process, this host), paid by every unit of work. A driver error becomes SQLAlchemy's error.
            raw = conn.connection.dbapi_connection
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise driver_error(conn, exc, raw, "BEGIN IMMEDIATE", ()) from exc

        return engine
    if not prepared_statements and parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "prepare_threshold": None}
    engine = create_engine(url, echo=echo, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine, PING_AFTER_IDLE_S)
    return engine


#: Connections opened past the pool's size when every pooled one is busy, closed again when returned.
OVERFLOW = 4

#: A pooled connection idle for longer than this is pinged before use (see ``ping_when_idle``).
PING_AFTER_IDLE_S = 2.0


def ping_when_idle(engine: Engine, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Ping a pooled connection before use only when it sat idle for more than ``idle_s``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: on PostgreSQL that is two round trips (psycopg opens a
    transaction for the ping) before a request's own statements, a fifth of RedeemToken's time. A connection in
    steady use was just proven alive by the request before, so only one that sat idle (where a restart, a
    failover or an idle timeout may have cut it) is pinged; a dead one is replaced before the request sees it. A
    connection cut while in steady use fails its statement, which answers UNAVAILABLE ``storage_unavailable`` (the
    clients retry it) and makes SQLAlchemy discard every connection older than the failure.
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:  # a new connection counts as just used
        if record is not None:
            record.info["idle_since"] = clock()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and clock() - since <= idle_s:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping's own transaction (psycopg opens one): not the request's
        except Exception as exc:  # any failure to ping means the connection is gone
            raise DisconnectionError("the pooled connection did not answer a ping") from exc
        if not alive:
            raise DisconnectionError("the pooled connection did not answer a ping")
