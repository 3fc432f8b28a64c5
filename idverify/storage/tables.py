"""Import every feature's tables so ``metadata`` holds the whole schema (for Alembic and tests)."""

from __future__ import annotations

from idverify.storage import tables_faces, tables_otp, tables_sessions  # noqa: F401 - registers their tables
from idverify.storage.schema import metadata

__all__ = ["metadata"]
