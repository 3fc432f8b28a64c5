"""A running service for the console tests, and staff members who have enrolled their own authenticators.

The service runs with ``IDVERIFY_STAFF_SESSIONS_REQUIRED=true``, as production does: staff keys alone only sign
in. The tests inspect the service through a separate admin (``test-auditor``) who signs in like everyone else.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pyotp
import pytest

from idverify.api.v1 import case_pb2, case_pb2_grpc
from idverify.domain.callers import Role
from idverify.transport.auth import hash_api_key
from tests.transport.conftest import Running, start_app

AUDITOR = "auditor"
_auditor_sessions: dict[Path, str] = {}


@contextmanager
def staff_running(data_dir: Path, **env: str) -> Iterator[Running]:
    """A started app with staff sessions required, one key per role (caller ids ``dev-<role>``, as in
    development) plus the auditor's admin key (``running.keys["auditor"]``)."""
    keys = {role.value: secrets.token_urlsafe(32) for role in Role}
    keys[AUDITOR] = secrets.token_urlsafe(32)
    entries = [f"dev-{role.value}:{role.value}:{hash_api_key(keys[role.value])}" for role in Role]
    entries.append(f"test-auditor:admin:{hash_api_key(keys[AUDITOR])}")
    app = start_app(data_dir, IDVERIFY_STAFF_SESSIONS_REQUIRED="true", IDVERIFY_API_KEYS=",".join(entries), **env)
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    try:
        yield Running(app, channel, keys, data_dir)
    finally:
        _auditor_sessions.pop(data_dir, None)
        channel.close()
        app.stop(grace_s=1)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with staff_running(tmp_path) as r:
        yield r


def auditor(running: Running) -> list[tuple[str, str]]:
    """Metadata of the auditor's staff session (enrolled and signed in on first use, then reused)."""
    credential = _auditor_sessions.get(running.data_dir)
    if credential is None:
        stub = case_pb2_grpc.CaseServiceStub(running.channel)
        key = [("x-api-key", running.keys[AUDITOR])]
        totp = pyotp.parse_uri(stub.EnrollStaffTotp(case_pb2.EnrollStaffTotpRequest(), metadata=key).provisioning_uri)
        credential = stub.StartStaffSession(case_pb2.StartStaffSessionRequest(totp_code=code_at(totp, 0)),
                                            metadata=key).session_credential
        _auditor_sessions[running.data_dir] = credential
    return [("authorization", f"Bearer {credential}")]


def enroll(running: Running, role: str) -> pyotp.TOTP:
    """Enrol the development staff member of ``role`` (caller id ``dev-<role>``) with their own API key."""
    uri = case_pb2_grpc.CaseServiceStub(running.channel).EnrollStaffTotp(
        case_pb2.EnrollStaffTotpRequest(), metadata=running.md(role)).provisioning_uri
    return pyotp.parse_uri(uri)


def code_at(totp: pyotp.TOTP, step_offset: int) -> str:
    """The code ``step_offset`` time steps from now (the service accepts one step of drift, each step once)."""
    return totp.at(time.time() + step_offset * totp.interval)
