"""The gRPC client: reason codes become exception classes, UNAVAILABLE and short RetryInfo are retried inside one
deadline, and nothing that may have taken effect is retried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from idverify_client.api.v1 import token_pb2, token_pb2_grpc
from idverify_client.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    ResourceExhausted,
    TokenBindingMismatch,
    TokenRedeemed,
    TokenRefused,
    Unavailable,
)
from idverify_client.rpc import LoanServiceClient, RetryPolicy

Answer = Callable[[Any, grpc.ServicerContext], Any]


def status(code: int, reason: str, message: str, retry_s: int | None = None, text: str = "") -> status_pb2.Status:
    details = [error_details_pb2.ErrorInfo(reason=reason, domain="idverify")]
    if retry_s is not None:
        details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_s)))
    if text:
        details.append(error_details_pb2.LocalizedMessage(locale="en", message=text))
    packed = []
    for d in details:
        holder = any_pb2.Any()
        holder.Pack(d)
        packed.append(holder)
    return status_pb2.Status(code=code, message=message, details=packed)


class ScriptedTokens(token_pb2_grpc.TokenServiceServicer):
    """Answers RedeemToken from a script: each entry is a Status to fail with, or None to succeed."""

    def __init__(self) -> None:
        self.script: list[status_pb2.Status | None] = []
        self.calls = 0
        self.api_keys: list[str] = []

    def RedeemToken(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls += 1
        self.api_keys.append(dict(context.invocation_metadata()).get("x-api-key", ""))
        step = self.script.pop(0) if self.script else None
        if step is not None:
            context.abort_with_status(rpc_status.to_status(step))
        return token_pb2.RedeemTokenResponse(token_id="jti-1", redemption_id="rd-1", subject="sub", session_id="vs_1",
                                             assurance_level="high", methods=["sms"])


@pytest.fixture
def tokens() -> Iterator[tuple[ScriptedTokens, str]]:
    servicer = ScriptedTokens()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    token_pb2_grpc.add_TokenServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        server.stop(None)


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(target: str, sleeps: Sleeps, **options: Any) -> LoanServiceClient:
    return LoanServiceClient(target, api_key="k-loan", sleep=sleeps, jitter=lambda: 1.0, **options)


def redeem(c: LoanServiceClient) -> Any:
    return c.redeem("eyJ.x.y", loan_application_id="L-1", amount="1200.00", currency="CNY", payout_account="62")


def test_unavailable_is_retried_with_growing_backoff_and_the_answer_returned(
    tokens: tuple[ScriptedTokens, str],
) -> None:
    servicer, target = tokens
    servicer.script = [status(code_pb2.UNAVAILABLE, "storage_unavailable", "down")] * 2
    sleeps = Sleeps()
    with client(target, sleeps) as c:
        redemption = redeem(c)
    assert redemption.token_id == "jti-1" and redemption.methods == ("sms",)
    assert servicer.calls == 3 and sleeps.waits == [0.1, 0.2]
    assert servicer.api_keys == ["k-loan"] * 3


def test_unavailable_past_the_last_attempt_is_raised_with_its_reason(tokens: tuple[ScriptedTokens, str]) -> None:
    servicer, target = tokens
    servicer.script = [status(code_pb2.UNAVAILABLE, "storage_unavailable", "down")] * 5
    with client(target, Sleeps(), retry=RetryPolicy(max_attempts=3)) as c, pytest.raises(Unavailable) as caught:
        redeem(c)
    assert servicer.calls == 3
    assert caught.value.reason == "storage_unavailable" and "storage_unavailable" in str(caught.value)


def test_a_short_retry_info_is_waited_out_and_a_long_one_is_raised_with_retry_after(
    tokens: tuple[ScriptedTokens, str],
) -> None:
    servicer, target = tokens
    servicer.script = [status(code_pb2.RESOURCE_EXHAUSTED, "server_busy", "busy", retry_s=1)]
    sleeps = Sleeps()
    with client(target, sleeps) as c:
        redeem(c)
    assert sleeps.waits == [1.0]
    servicer.script = [status(code_pb2.RESOURCE_EXHAUSTED, "otp_resend_too_soon", "wait", retry_s=60,
                              text="Please wait before requesting another code.")]
    with client(target, sleeps) as c, pytest.raises(ResourceExhausted) as caught:
        redeem(c)
    assert caught.value.retry_after_s == 60.0 and sleeps.waits == [1.0]
    assert caught.value.message == "Please wait before requesting another code."
    assert "retry after 60 s" in str(caught.value)


def test_token_reasons_become_their_own_exception_classes(tokens: tuple[ScriptedTokens, str]) -> None:
    servicer, target = tokens
    servicer.script = [status(code_pb2.PERMISSION_DENIED, "token_binding_mismatch", "no"),
                       status(code_pb2.PERMISSION_DENIED, "token_invalid", "no"),
                       status(code_pb2.FAILED_PRECONDITION, "token_redeemed", "odd status for this reason")]
    with client(target, Sleeps()) as c:
        with pytest.raises(TokenBindingMismatch):
            redeem(c)
        with pytest.raises(TokenRefused) as refused:
            redeem(c)
        assert type(refused.value) is TokenRefused
        # A reason class is only used under its own status: the status decides the category.
        with pytest.raises(FailedPrecondition) as other:
            redeem(c)
        assert not isinstance(other.value, TokenRedeemed) and other.value.reason == "token_redeemed"
    assert servicer.calls == 3


def test_a_retry_after_unavailable_returns_the_redemption_and_token_redeemed_is_someone_elses(
    tokens: tuple[ScriptedTokens, str],
) -> None:
    servicer, target = tokens
    servicer.script = [status(code_pb2.UNAVAILABLE, "storage_unavailable", "down")]
    with client(target, Sleeps()) as c:
        assert redeem(c).redemption_id == "rd-1"
    servicer.script = [status(code_pb2.PERMISSION_DENIED, "token_redeemed", "redeemed")]
    with client(target, Sleeps()) as c, pytest.raises(TokenRedeemed) as caught:
        redeem(c)
    assert caught.value.reason == "token_redeemed" and caught.value.status == "PERMISSION_DENIED"


def test_a_server_that_is_not_there_is_unavailable_within_the_deadline() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    with LoanServiceClient(f"127.0.0.1:{port}", timeout_s=2.0, sleep=sleeps, jitter=lambda: 1.0) as c:
        with pytest.raises((Unavailable, DeadlineExceeded)) as caught:
            redeem(c)
    assert caught.value.status in {"UNAVAILABLE", "DEADLINE_EXCEEDED"}
    assert len(sleeps.waits) >= 1


def test_deadline_exceeded_is_never_retried_because_the_call_may_have_taken_effect(
    tokens: tuple[ScriptedTokens, str],
) -> None:
    servicer, target = tokens
    servicer.script = [status(code_pb2.DEADLINE_EXCEEDED, "deadline_exceeded", "slow")]
    with client(target, Sleeps()) as c, pytest.raises(DeadlineExceeded):
        redeem(c)
    assert servicer.calls == 1
