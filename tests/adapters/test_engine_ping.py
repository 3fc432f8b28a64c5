"""Pooled connections are pinged before use only after sitting idle (``ping_when_idle``): a connection in steady
use costs no extra round trip, and one that died while idle is replaced before a request sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from idverify.storage.engine import ping_when_idle
from tests.fakes import ManualMonotonic as Clock


def engine_with_pings(tmp_path: Path, clock: Clock, dead: set[int]) -> tuple[Any, list[int]]:
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path}/ping.db", pool_size=1, max_overflow=0)
    pinged: list[int] = []
    real_ping = engine.dialect.do_ping

    def do_ping(dbapi_conn: Any) -> bool:
        pinged.append(id(dbapi_conn))
        if id(dbapi_conn) in dead:
            raise OSError("connection reset")
        return bool(real_ping(dbapi_conn))

    engine.dialect.do_ping = do_ping  # type: ignore[method-assign]
    ping_when_idle(engine, 2.0, clock)
    return engine, pinged


def raw_id(engine: Any) -> int:
    """The id of the driver connection a request used (each is kept alive in ``_SEEN``, so ids are never reused)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        raw = conn.connection.dbapi_connection
        _SEEN.append(raw)
        return id(raw)


_SEEN: list[Any] = []


def test_a_connection_in_steady_use_is_not_pinged(tmp_path: Path) -> None:
    clock = Clock()
    engine, pinged = engine_with_pings(tmp_path, clock, set())
    first = raw_id(engine)
    for _ in range(5):
        clock.now += 0.5
        assert raw_id(engine) == first
    assert pinged == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(tmp_path: Path) -> None:
    clock = Clock()
    dead: set[int] = set()
    engine, pinged = engine_with_pings(tmp_path, clock, dead)
    first = raw_id(engine)
    clock.now += 2.5
    assert raw_id(engine) == first  # idle, pinged, alive: kept
    assert pinged == [first]
    dead.add(first)
    clock.now += 2.5
    second = raw_id(engine)  # idle, pinged, dead: replaced before the request ran
    assert second != first
    assert pinged == [first, first]


@pytest.mark.parametrize("idle", [0.0, 1.9])
def test_within_the_idle_window_nothing_is_pinged(tmp_path: Path, idle: float) -> None:
    clock = Clock()
    engine, pinged = engine_with_pings(tmp_path, clock, set())
    raw_id(engine)
    clock.now += idle
    raw_id(engine)
    assert pinged == []
