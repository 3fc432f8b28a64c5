"""A running service for the console tests, and staff members who have enrolled their own authenticators."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from idverify.api.v1 import case_pb2, case_pb2_grpc
from tests.transport.conftest import Running, running_app


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with running_app(tmp_path) as r:
        yield r


def enroll(running: Running, role: str) -> pyotp.TOTP:
    """Enrol the development staff member of ``role`` (caller id ``dev-<role>``) with their own API key."""
    uri = case_pb2_grpc.CaseServiceStub(running.channel).EnrollStaffTotp(
        case_pb2.EnrollStaffTotpRequest(), metadata=running.md(role)).provisioning_uri
    return pyotp.parse_uri(uri)


def code_at(totp: pyotp.TOTP, step_offset: int) -> str:
    """The code ``step_offset`` time steps from now (the service accepts one step of drift, each step once)."""
    return totp.at(time.time() + step_offset * totp.interval)
