"""Migrations build the declared schema on SQLite and PostgreSQL, and never drift from the table definitions."""

from __future__ import annotations

from sqlalchemy import inspect

from idverify.storage import migrate
from idverify.storage.engine import make_engine
from idverify.storage.tables import metadata


def test_upgrade_to_head_creates_every_declared_table_without_drift(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        assert migrate.drift(engine) == [], "models and migrations differ: write a migration"
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
