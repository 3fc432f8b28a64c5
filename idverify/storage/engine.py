"""Engine creation: SQLite (WAL, foreign keys, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file (development and single-machine deployments)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, *, echo: bool = False, prepared_statements: bool = True, **kwargs: Any) -> Engine:
    """Create an engine for ``url``. Nothing connects until first use.

    ``prepared_statements=False`` is for PostgreSQL behind PgBouncer in transaction mode: consecutive
    transactions may land on different server connections, so psycopg must never prepare (prepare_threshold=None).

    SQLite files get WAL journaling, ``synchronous=NORMAL`` (durable across process kills, which is what WAL
    guarantees), foreign keys and a 5 s busy timeout so concurrent writers wait instead of failing.
    """
    parsed = make_url(url)
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
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if not prepared_statements and parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "prepare_threshold": None}
    return create_engine(url, echo=echo, **kwargs)
