"""Fixtures shared by every layer: database engines on SQLite and (when configured) the real PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from idverify.storage.engine import make_engine


def _postgres_url() -> str | None:
    return os.environ.get("IDVERIFY_TEST_POSTGRES_URL") or None


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A fresh schema on the real PostgreSQL for one test; yields a URL whose search_path is that schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop a test's schema. A server the test killed may still hold locks in it for a moment (its backend has not
    noticed the closed socket), and DROP ... CASCADE can then be chosen as a deadlock victim: try again."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(5):
        try:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a fresh SQLite file, and a fresh schema on the real PostgreSQL.

    PostgreSQL runs when IDVERIFY_TEST_POSTGRES_URL is set (CI sets it) and skips otherwise.
    Each test gets its own schema so parallel runs never see each other's rows.
    """
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path / 'idverify.db'}"
        return
    base = _postgres_url()
    if base is None:
        pytest.skip("IDVERIFY_TEST_POSTGRES_URL is not set (CI sets it); PostgreSQL variant skipped")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database with the whole current schema created."""
    from idverify.storage.tables import metadata

    eng = make_engine(db_url)
    metadata.create_all(eng)
    try:
        yield eng
    finally:
        eng.dispose()
