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
