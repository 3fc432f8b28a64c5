"""The storage engine behaves the same on SQLite and PostgreSQL for the properties the service relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, select

from idverify.storage.schema import UtcDateTime


def test_utc_datetime_round_trips_as_aware_utc(engine: Engine) -> None:
    md = MetaData()
    t = Table("ts_probe", md, Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    md.create_all(engine)
    shanghai = timezone(timedelta(hours=8))
    written = datetime(2026, 11, 1, 17, 30, tzinfo=shanghai)
    with engine.begin() as conn:
        conn.execute(t.insert().values(id=1, at=written))
    with engine.connect() as conn:
        read = conn.execute(select(t.c.at)).scalar_one()
    assert read == written
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)
    assert read.hour == 9


def test_naive_datetime_is_refused(engine: Engine) -> None:
    md = MetaData()
    t = Table("ts_naive", md, Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    md.create_all(engine)
    with pytest.raises(Exception, match="naive datetime"):
        with engine.begin() as conn:
            conn.execute(t.insert().values(id=1, at=datetime(2026, 1, 1)))
    assert datetime.now(UTC).tzinfo is UTC


def test_a_sqlite_write_lock_held_elsewhere_fails_the_begin_as_sqlalchemys_error_and_the_unit_answers_unavailable(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite's ``BEGIN IMMEDIATE`` runs on the driver directly; when another process holds the write lock past the
    busy timeout, the begin must still fail as SQLAlchemy's ``OperationalError`` (which the unit of work answers as
    UNAVAILABLE storage_unavailable), and the engine must work again once the lock is gone."""
    import sqlite3

    from sqlalchemy import event, text
    from sqlalchemy.exc import OperationalError

    import idverify.storage.tables  # noqa: F401 - registers every table
    from idverify.domain.errors import Unavailable
    from idverify.privacy.cipher import FieldCipher
    from idverify.privacy.keys import ConfigKeyProvider
    from idverify.privacy.sealing import SealedFields
    from idverify.storage.engine import make_engine
    from idverify.storage.tables import metadata
    from idverify.storage.unit_of_work import SqlUnitOfWork

    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite+pysqlite:///{path}")
    metadata.create_all(engine)

    @event.listens_for(engine, "connect")
    def _short_wait(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA busy_timeout=20")

    engine.dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="database is locked"), engine.begin():
            pass
        keys = ConfigKeyProvider(data_keys={"t1": b"k" * 32}, active_kid="t1", index_key=b"i" * 32)
        with pytest.raises(Unavailable) as raised, SqlUnitOfWork(engine, SealedFields(FieldCipher(keys))):
            pass
        assert raised.value.code == "storage_unavailable"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM issued_tokens")).scalar_one() == 0
    engine.dispose()
