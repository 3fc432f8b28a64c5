"""A Stoplight Prism mock of Twilio, built from Twilio's own OpenAPI file, for the whole test session.

Prism comes from ``scripts/prism.sh install`` (into .cache/prism). Outside CI a missing node, Prism or spec skips
with the reason; in CI (CI=true) it fails, because a silent skip would hide a broken contract test.

The published spec (twilio-oai 2.6.7) declares no 429 response for creating a Message, so Prism answers
``Prefer: code=429`` with 404. The fixture therefore runs Prism on a copy, written to a temporary folder outside the
repository, that adds Twilio's documented 429 error (code 20429) to that one operation. Request validation is
untouched: requests are still checked against Twilio's own schema.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shared_data import shared_path

REPO = Path(__file__).resolve().parents[3]
MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
TOO_MANY = {
    "code": 20429,
    "message": "Too Many Requests",
    "more_info": "https://www.twilio.com/docs/errors/20429",
    "status": 429,
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason + "; CI must run the Twilio contract tests")
    pytest.skip(reason)


def _prism_bin() -> Path | None:
    explicit = os.environ.get("IDVERIFY_PRISM_BIN")
    candidate = Path(explicit) if explicit else REPO / ".cache" / "prism" / "node_modules" / ".bin" / "prism"
    return candidate if candidate.exists() else None


def _spec_with_429(source: Path, target: Path) -> Path:
    spec = json.loads(source.read_text(encoding="utf-8"))
    responses = spec["paths"][MESSAGES]["post"]["responses"]
    responses.setdefault(
        "429",
        {
            "description": "Too Many Requests (added by the idverify tests; Twilio documents error 20429)",
            "content": {"application/json": {"schema": {"type": "object"}, "example": TOO_MANY}},
        },
    )
    target.write_text(json.dumps(spec), encoding="utf-8")
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running Prism mock of Twilio's 2010-04-01 API."""
    source = shared_path("twilio-oai", "twilio_api_v2010.json")
    if shutil.which("node") is None:
        _unavailable("node is not installed, so the Prism mock of Twilio cannot run")
    prism = _prism_bin()
    if prism is None:
        _unavailable("Prism is not installed (run scripts/prism.sh install)")
    assert prism is not None
    folder = tmp_path_factory.mktemp("prism")
    spec = _spec_with_429(source, folder / "twilio_api_v2010.json")
    port = _free_port()
    log = (folder / "prism.log").open("wb")
    proc = subprocess.Popen(
        [str(prism), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Prism exited with {proc.returncode}; see {folder / 'prism.log'}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Prism did not listen within 90 s; see {folder / 'prism.log'}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
