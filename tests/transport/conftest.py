"""An in-process server on ephemeral ports, built by the real composition root on a temporary SQLite file."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from idverify.app import App, build
from idverify.config import Settings
from idverify.outbox import SqlOutboxQueue


@dataclass
class Running:
    app: App
    channel: grpc.Channel
    keys: dict[str, str]
    data_dir: Path

    def md(self, role: str = "app_backend") -> list[tuple[str, str]]:
        return [("x-api-key", self.keys[role])]

    def sms_sent(self, timeout_s: float = 10.0) -> None:
        """Wait until the outbox has sent every text committed so far (texts leave just after the commit)."""
        queue = SqlOutboxQueue(self.app.engine)
        deadline = time.monotonic() + timeout_s
        while queue.depth(datetime.now(UTC), channel="sms").pending and time.monotonic() < deadline:
            time.sleep(0.01)


def start_app(data_dir: Path, **env: str) -> App:
    base = {
        "IDVERIFY_DATA_DIR": str(data_dir),
        "IDVERIFY_GRPC_ADDRESS": "127.0.0.1:0",
        "IDVERIFY_ADMIN_ADDRESS": "127.0.0.1:0",
        "IDVERIFY_LOG_LEVEL": "WARNING",
        # OCR models take seconds to load; only the document tests turn them on.
        "IDVERIFY_DOCUMENTS": "off",
    }
    base.update(env)
    app = build(Settings.from_env(base))
    app.start()
    return app


@contextmanager
def running_app(data_dir: Path, **env: str) -> Iterator[Running]:
    """A started app with a channel to it and the development API keys, stopped on exit."""
    app = start_app(data_dir, **env)
    keys = tomllib.loads((data_dir / "dev-api-keys.toml").read_text())
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    try:
        yield Running(app, channel, keys, data_dir)
    finally:
        channel.close()
        app.stop(grace_s=1)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with running_app(tmp_path) as r:
        yield r
