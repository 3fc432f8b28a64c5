"""`idverify console` as an operator runs it: its own process on an ephemeral port, SIGTERM to stop, and a
configuration error that names the variable."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

IDVERIFY = Path(sys.executable).parent / "idverify"
pytestmark = pytest.mark.slow


def test_the_console_serves_its_pages_on_an_ephemeral_port_and_stops_on_sigterm() -> None:
    env = {**os.environ, "IDVERIFY_CONSOLE_ADDRESS": "127.0.0.1:0",
           "IDVERIFY_CONSOLE_SERVICE_TARGET": "127.0.0.1:9"}  # pages that need the service are not asked for
    proc = subprocess.Popen([str(IDVERIFY), "console"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", banner).group(1))  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the console did not answer"
                time.sleep(0.1)
        assert health.text == "ok"
        page = httpx.get(f"http://127.0.0.1:{port}/sign-in", headers={"accept-language": "en"})
        assert "Staff sign-in" in page.text and "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert httpx.get(f"http://127.0.0.1:{port}/cases").headers["location"] == "/sign-in"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0


def test_a_production_console_without_https_does_not_start() -> None:
    env = {**os.environ, "IDVERIFY_ENV": "production", "IDVERIFY_CONSOLE_ADDRESS": "127.0.0.1:0"}
    done = subprocess.run([str(IDVERIFY), "console"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "IDVERIFY_CONSOLE_TLS_CERT_FILE" in done.stderr
