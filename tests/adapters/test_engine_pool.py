"""The connection pool is sized to the threads that use it: with as many requests in flight as the pool holds, no
connection is opened or closed per request (SQLAlchemy's default of 5 plus overflow did that, and on PostgreSQL
each overflow connection is a new server process)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, text

from idverify.storage.engine import make_engine


def connects_over_rounds(url: str, in_flight: int, rounds: int, **engine_kwargs: Any) -> int:
    """How many driver connections are opened while ``in_flight`` threads each hold one at the same moment,
    ``rounds`` times over."""
    engine = make_engine(url, **engine_kwargs)
    opened: list[int] = []
    failures: list[BaseException] = []
    event.listen(engine, "connect", lambda dbapi_conn, _record: opened.append(1))
    try:
        for _ in range(rounds):
            barrier = threading.Barrier(in_flight)

            def request(barrier: threading.Barrier = barrier) -> None:
                # A pooled connection checked out without a transaction (the service's SQLite transactions take
                # the write lock, so eight of them cannot be open at once; pool checkouts can).
                conn = engine.raw_connection()
                try:
                    cursor = conn.cursor()
                    cursor.execute("SELECT 1")
                    cursor.close()
                    barrier.wait(timeout=30)  # every thread holds its connection at once
                except BaseException as exc:  # reported below
                    failures.append(exc)
                finally:
                    conn.close()

            threads = [threading.Thread(target=request) for _ in range(in_flight)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert failures == []
        return len(opened)
    finally:
        engine.dispose()


def test_a_pool_as_large_as_the_requests_in_flight_opens_each_connection_once(db_url: str) -> None:
    assert connects_over_rounds(db_url, in_flight=8, rounds=4, pool_size=8) == 8


def test_the_check_sees_churn_when_the_pool_is_smaller_than_the_requests_in_flight(db_url: str) -> None:
    # SQLAlchemy's default pool (5, overflow 10), as the service had it: 3 connections opened and closed each round.
    assert connects_over_rounds(db_url, in_flight=8, rounds=4) == 5 + 3 * 4


def test_an_in_memory_database_keeps_its_own_pool() -> None:
    engine = make_engine("sqlite+pysqlite:///:memory:", pool_size=8)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
