"""A whole verification over gRPC: SMS code from the outbox, completion, the token verified offline with the
served JWKS by the client library, redeemed once, refused the second time; plus the completion notice."""

from __future__ import annotations

import json
import re

import grpc
import pytest

from idverify.api.v1 import common_pb2, token_pb2, token_pb2_grpc, verification_pb2, verification_pb2_grpc
from idverify.client.jwks import StaticJwks
from idverify.client.verifier import ExpectedBinding, TokenVerifier
from tests.transport.conftest import Running
from tests.transport.test_server import context, reason_of, start_request

V = verification_pb2


def outbox(running: Running) -> list[dict]:  # type: ignore[type-arg]
    running.sms_sent()
    path = running.data_dir / "sms-outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def latest_code(running: Running) -> str:
    match = re.search(r"\b(\d{6})\b", outbox(running)[-1]["body"])
    assert match is not None
    return match.group(1)


def open_and_pass_otp(running: Running, stub: verification_pb2_grpc.VerificationServiceStub) -> str:
    sid = stub.StartVerification(start_request(), metadata=running.md()).verification.session_id
    sent = stub.SendOtp(V.SendOtpRequest(context=context(), session_id=sid), metadata=running.md())
    assert sent.code_length == 6 and "8000" in sent.masked_destination and "13800138000" not in sent.masked_destination
    checked = stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code=latest_code(running),
                                              channel=V.OTP_CHANNEL_SMS), metadata=running.md())
    assert checked.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED
    return sid


def redeem(running: Running, token: str, **override: str) -> token_pb2.RedeemTokenResponse:
    values = {"loan": "L-1", "amount": "1000.00", "account": "6222-01"} | override
    stub = token_pb2_grpc.TokenServiceStub(running.channel)
    return stub.RedeemToken(token_pb2.RedeemTokenRequest(
        token=token, loan_application_id=values["loan"], amount=common_pb2.Money(value=values["amount"],
                                                                                 currency="CNY"),
        payout_account=values["account"]), metadata=running.md("loan_service"))


def test_complete_verify_offline_redeem_once(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = open_and_pass_otp(running, stub)
    done = stub.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                     metadata=running.md())
    assert done.verification.status == V.VERIFICATION_STATUS_COMPLETED
    notice = outbox(running)[-1]
    assert done.verification.reference in notice["body"]
    assert notice["to"] == "+8613800138000"

    jwks = json.loads(token_pb2_grpc.TokenServiceStub(running.channel).GetJwks(
        token_pb2.GetJwksRequest(), metadata=running.md("loan_service")).jwks_json)
    verifier = TokenVerifier(StaticJwks(jwks), "idverify", ["loan-service"])
    verified = verifier.verify(done.token, expected=ExpectedBinding("L-1", "1000.00", "CNY", "6222-01"))
    assert verified.session_id == sid
    assert "sms" in verified.amr and "acct-1" not in verified.subject

    first = redeem(running, done.token)
    assert first.session_id == sid and first.redemption_id.startswith("rdm_")
    again = redeem(running, done.token)  # the same lender retrying after a lost answer learns it redeemed it
    assert (again.redemption_id, again.redeemed_at) == (first.redemption_id, first.redeemed_at)
    state = token_pb2_grpc.TokenServiceStub(running.channel).IntrospectToken(
        token_pb2.IntrospectTokenRequest(token=done.token), metadata=running.md("loan_service"))
    assert state.state == token_pb2.TOKEN_STATE_REDEEMED


@pytest.mark.parametrize("override", [{"loan": "L-2"}, {"amount": "1000.01"}, {"account": "6222-02"}])
def test_a_token_for_another_loan_amount_or_account_is_refused_and_stays_redeemable(running: Running,
                                                                                   override: dict[str, str]) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = open_and_pass_otp(running, stub)
    token = stub.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                      metadata=running.md()).token
    with pytest.raises(grpc.RpcError) as err:
        redeem(running, token, **override)
    assert reason_of(err.value) == "token_binding_mismatch"
    assert redeem(running, token).session_id == sid


def test_a_wrong_code_is_a_failed_answer_and_a_malformed_one_burns_nothing(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = stub.StartVerification(start_request(), metadata=running.md()).verification.session_id
    stub.SendOtp(V.SendOtpRequest(context=context(), session_id=sid), metadata=running.md())
    code = latest_code(running)
    wrong = "000000" if code != "000000" else "111111"
    answer = stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code=wrong,
                                             channel=V.OTP_CHANNEL_SMS), metadata=running.md())
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
    assert answer.result.reason_code == "otp_incorrect" and answer.attempts_left == 4
    assert answer.result.message == "The code is incorrect."
    for junk in ("12a456", "１２３４５６", " 123456", "", "1234567"):
        with pytest.raises(grpc.RpcError) as err:
            stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code=junk,
                                            channel=V.OTP_CHANNEL_SMS), metadata=running.md())
        assert reason_of(err.value) == "otp_malformed"
    again = stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code=wrong,
                                            channel=V.OTP_CHANNEL_SMS), metadata=running.md())
    assert again.attempts_left == 3
    with pytest.raises(grpc.RpcError) as err:
        stub.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                  metadata=running.md())
    assert reason_of(err.value) == "factors_incomplete"


def test_a_resend_inside_the_cool_down_is_resource_exhausted_with_retry_info(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = stub.StartVerification(start_request(), metadata=running.md()).verification.session_id
    stub.SendOtp(V.SendOtpRequest(context=context(), session_id=sid), metadata=running.md())
    with pytest.raises(grpc.RpcError) as err:
        stub.SendOtp(V.SendOtpRequest(context=context(), session_id=sid), metadata=running.md())
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason_of(err.value) == "otp_resend_too_soon"
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(err.value)  # type: ignore[arg-type]
    delays = []
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            delays.append(info.retry_delay.seconds)
    assert delays and 0 < delays[0] <= 30
