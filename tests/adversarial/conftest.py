"""The real server (composition root, gRPC on an ephemeral port) on SQLite and on PostgreSQL, and an attacker's
or applicant's moves as one-line helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from idverify.api.v1 import (
    case_pb2,
    case_pb2_grpc,
    common_pb2,
    token_pb2,
    token_pb2_grpc,
    verification_pb2,
    verification_pb2_grpc,
)
from tests.transport.conftest import Running, running_app

V = verification_pb2
AMOUNT = "1000.00"
PAYOUT = "6222-01"


def phone_for(n: int) -> str:
    """A distinct mainland mobile number per applicant, so per-phone send limits do not couple tests."""
    return f"+86138{n:08d}"


@dataclass
class Applicant:
    """One applicant's verification over gRPC against one replica."""

    running: Running
    applicant_id: str
    loan: str = "L-1"
    amount: str = AMOUNT
    phone: str = "+8613800138000"
    device_id: str = "dev-1"
    client_ip: str = "203.0.113.9"
    session_id: str = ""
    token: str = ""

    def context(self, **override: str) -> common_pb2.ApplicationContext:
        values = {"applicant": self.applicant_id, "loan": self.loan, "amount": self.amount,
                  "device": self.device_id, "ip": self.client_ip} | override
        return common_pb2.ApplicationContext(
            applicant_id=values["applicant"], loan_application_id=values["loan"],
            amount=common_pb2.Money(value=values["amount"], currency="CNY"), device_id=values["device"],
            client_ip=values["ip"], locale="en")

    @property
    def stub(self) -> verification_pb2_grpc.VerificationServiceStub:
        return verification_pb2_grpc.VerificationServiceStub(self.running.channel)

    def start(self) -> V.Verification:
        reply = self.stub.StartVerification(V.StartVerificationRequest(
            context=self.context(), phone_e164=self.phone, payout_account=PAYOUT), metadata=self.running.md())
        self.session_id = reply.verification.session_id
        return reply.verification

    def send(self) -> V.SendOtpResponse:
        return self.stub.SendOtp(V.SendOtpRequest(context=self.context(), session_id=self.session_id),
                                 metadata=self.running.md())

    def code(self) -> str:
        """The newest code texted to this applicant's phone (from the development SMS outbox)."""
        self.running.sms_sent()
        path = self.running.data_dir / "sms-outbox.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        mine = [json.loads(line) for line in lines if self.phone in line]
        bodies = [m["body"] for m in mine if m["to"] == self.phone and "code" in m["body"].lower()]
        if not bodies:
            return "000000"  # nothing was sent: a guess
        match = re.search(r"\b(\d{6})\b", bodies[-1])
        assert match is not None
        return match.group(1)

    def check(self, code: str | None = None, **override: str) -> V.CheckOtpResponse:
        return self.stub.CheckOtp(V.CheckOtpRequest(
            context=self.context(**override), session_id=self.session_id,
            code=self.code() if code is None else code, channel=V.OTP_CHANNEL_SMS), metadata=self.running.md())

    def complete(self) -> V.CompleteVerificationResponse:
        reply = self.stub.CompleteVerification(V.CompleteVerificationRequest(
            context=self.context(), session_id=self.session_id), metadata=self.running.md())
        self.token = reply.token
        return reply

    def redeem(self, token: str | None = None, *, loan: str | None = None, amount: str | None = None,
               payout: str = PAYOUT, caller: str = "loan_service") -> token_pb2.RedeemTokenResponse:
        stub = token_pb2_grpc.TokenServiceStub(self.running.channel)
        return stub.RedeemToken(token_pb2.RedeemTokenRequest(
            token=self.token if token is None else token, loan_application_id=loan or self.loan,
            amount=common_pb2.Money(value=amount or self.amount, currency="CNY"), payout_account=payout),
            metadata=self.running.md(caller))

    def report(self) -> case_pb2.ReportUnauthorizedApplicationResponse:
        stub = case_pb2_grpc.CaseServiceStub(self.running.channel)
        return stub.ReportUnauthorizedApplication(case_pb2.ReportUnauthorizedApplicationRequest(
            applicant_id=self.applicant_id, loan_application_id=self.loan, channel="app",
            description="I never applied"), metadata=self.running.md())

    def freeze(self) -> case_pb2.FreezeIdentityResponse:
        stub = case_pb2_grpc.CaseServiceStub(self.running.channel)
        return stub.FreezeIdentity(case_pb2.FreezeIdentityRequest(applicant_id=self.applicant_id,
                                                                  reason="lost my phone"),
                                   metadata=self.running.md())

    def on(self, other: Running) -> Applicant:
        """The same applicant and verification, talking to another replica."""
        return Applicant(other, self.applicant_id, self.loan, self.amount, self.phone, self.device_id,
                         self.client_ip, self.session_id, self.token)


def refusal(call: object, *args: object, **kwargs: object) -> str:
    """The reason code of a refused call; fails the test if the call succeeded."""
    from tests.transport.test_server import reason_of

    try:
        call(*args, **kwargs)  # type: ignore[operator]
    except grpc.RpcError as err:
        return reason_of(err)
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded where it must be refused")


SMS_ONLY = {"IDVERIFY_FACE": "off"}


@contextmanager
def replicas(data_dir: Path, db_url: str, count: int = 1, **env: str) -> Iterator[list[Running]]:
    """``count`` servers (each its own composition root and engine) on one database and one data folder (so
    they share secrets, signing keys and API keys, as replicas do)."""
    with ExitStack() as stack:
        settings = {**SMS_ONLY, "IDVERIFY_DATABASE_URL": db_url, **env}
        yield [stack.enter_context(running_app(data_dir, **settings)) for _ in range(count)]


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[Running]:
    """One real server on SQLite or PostgreSQL (the ``db_url`` parameter), SMS-only policy."""
    with replicas(tmp_path, db_url) as (one,):
        yield one
