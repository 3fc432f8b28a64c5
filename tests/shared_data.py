"""Locating ../shared/data for tests.

Tests that need the real data call :func:`shared_path`. Outside CI a missing folder skips the test with the reason;
in CI (``CI=true``) it fails, because CI always has the data and a silent skip would hide a broken test.
``IDVERIFY_SHARED_DATA`` points elsewhere when the data lives somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_root() -> Path:
    return Path(os.environ.get("IDVERIFY_SHARED_DATA", str(_DEFAULT)))


def shared_path(*parts: str) -> Path:
    """Path under the shared data folder, or skip (fail in CI) with a clear reason when it is absent."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        reason = f"shared test data not found at {path} (set IDVERIFY_SHARED_DATA or place ../shared/data)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason + "; CI must always have it")
        pytest.skip(reason)
    return path
