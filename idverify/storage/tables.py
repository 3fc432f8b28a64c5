"""Import every feature's tables so ``metadata`` holds the whole schema (for Alembic and tests)."""

from __future__ import annotations

from idverify.storage import (  # noqa: F401 - registers their tables
    tables_audit,
    tables_cases,
    tables_console,
    tables_devices,
    tables_faces,
    tables_liveness,
    tables_otp,
    tables_outbox,
    tables_risk,
    tables_sessions,
)
from idverify.storage.schema import metadata

__all__ = ["metadata"]
