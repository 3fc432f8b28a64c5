"""The server as a client sees it: authentication, roles, status codes with reason codes, health, reflection,
limits, and that refused requests change nothing."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from sqlalchemy import func, select

from idverify.api.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    case_pb2,
    case_pb2_grpc,
    common_pb2,
    person_pb2,
    token_pb2,
    token_pb2_grpc,
    verification_pb2,
    verification_pb2_grpc,
)
from idverify.domain import errors
from idverify.storage.tables_sessions import verification_sessions
from idverify.transport.errors import STATUS, status_code_for
from idverify.transport.permissions import ALLOWED
from idverify.transport.server import SERVICE_NAMES
from tests.transport.conftest import Running

V = verification_pb2


def context(applicant: str = "acct-1", loan: str = "L-1", amount: str = "1000.00") -> common_pb2.ApplicationContext:
    return common_pb2.ApplicationContext(applicant_id=applicant, loan_application_id=loan,
                                         amount=common_pb2.Money(value=amount, currency="CNY"), device_id="dev-1",
                                         client_ip="203.0.113.9", locale="en")


def start_request(**kw: str) -> verification_pb2.StartVerificationRequest:
    return V.StartVerificationRequest(context=context(**kw), phone_e164="+8613800138000", payout_account="6222-01")


def reason_of(err: grpc.RpcError) -> str:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, "every error carries a google.rpc.Status"
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            trailing = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
            assert trailing["idverify-reason"] == info.reason
            return info.reason
    raise AssertionError("no ErrorInfo in the status details")


def count_sessions(running: Running) -> int:
    with running.app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(verification_sessions)).scalar_one())


def test_every_domain_error_category_maps_to_a_status_other_than_internal() -> None:
    for category in errors.CATEGORIES:
        assert status_code_for(category("some_code")) is not grpc.StatusCode.INTERNAL
    assert set(STATUS) == set(errors.CATEGORIES)


def test_every_rpc_in_the_contract_has_a_role_entry() -> None:
    from idverify.api.v1 import audit_pb2, case_pb2, face_pb2

    methods = set()
    for module in (verification_pb2, token_pb2, case_pb2, audit_pb2, face_pb2, person_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            methods |= {f"/{service.full_name}/{m.name}" for m in service.methods}
    assert methods == set(ALLOWED)


def test_a_client_opens_reads_and_cancels_a_verification(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    started = stub.StartVerification(start_request(), metadata=running.md()).verification
    assert started.status == V.VERIFICATION_STATUS_CREATED
    assert list(started.required_factors) == [common_pb2.FACTOR_SMS_OTP]
    got = stub.GetVerification(V.GetVerificationRequest(context=context(), session_id=started.session_id),
                               metadata=running.md()).verification
    assert got.session_id == started.session_id and got.reference == started.reference
    cancelled = stub.CancelVerification(V.CancelVerificationRequest(context=context(),
                                                                    session_id=started.session_id),
                                        metadata=running.md()).verification
    assert cancelled.status == V.VERIFICATION_STATUS_CANCELLED
    with pytest.raises(grpc.RpcError) as err:
        stub.CancelVerification(V.CancelVerificationRequest(context=context(), session_id=started.session_id),
                                metadata=running.md())
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(err.value) == "session_cancelled"


def test_calls_without_or_with_a_wrong_api_key_are_unauthenticated(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    for md, reason in (([], "credentials_missing"), ([("x-api-key", "forged")], "credentials_invalid"),
                       ([("x-api-key", "a"), ("x-api-key", "b")], "credentials_missing")):
        with pytest.raises(grpc.RpcError) as err:
            stub.StartVerification(start_request(), metadata=md)
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(err.value) == reason
    assert count_sessions(running) == 0


def test_a_caller_without_the_role_is_denied(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.StartVerification(start_request(), metadata=running.md("loan_service"))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(err.value) == "role_not_allowed"
    tokens = token_pb2_grpc.TokenServiceStub(running.channel)
    with pytest.raises(grpc.RpcError) as err:
        tokens.RedeemToken(token_pb2.RedeemTokenRequest(token="x"), metadata=running.md("app_backend"))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_unknown_sessions_and_other_applicants_sessions_are_not_found(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = stub.StartVerification(start_request(), metadata=running.md()).verification.session_id
    for ctx, session_id in ((context(), "vs_doesnotexist"), (context(applicant="acct-2"), sid)):
        with pytest.raises(grpc.RpcError) as err:
            stub.GetVerification(V.GetVerificationRequest(context=ctx, session_id=session_id), metadata=running.md())
        assert err.value.code() is grpc.StatusCode.NOT_FOUND
        assert reason_of(err.value) == "session_not_found"


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda r: r.ClearField("context"), "context_missing"),
    (lambda r: setattr(r.context, "applicant_id", ""), "applicant_id_missing"),
    (lambda r: setattr(r.context, "applicant_id", "x" * 10_000), "applicant_id_invalid"),
    (lambda r: setattr(r.context, "loan_application_id", "L\x00-1"), "loan_application_id_invalid"),
    (lambda r: setattr(r.context, "device_id", "\u202e\u0007"), "device_id_invalid"),
    (lambda r: setattr(r.context, "client_ip", "not-an-ip"), "client_ip_invalid"),
    (lambda r: setattr(r.context.amount, "value", "1e999"), "amount_invalid"),
    (lambda r: setattr(r.context.amount, "currency", "cn¥"), "currency_invalid"),
    (lambda r: setattr(r, "phone_e164", "+86 138 0013 8000"), "phone_invalid"),
    (lambda r: setattr(r, "payout_account", "\n" * 3), "payout_account_invalid"),
])
def test_junk_in_any_field_is_invalid_argument_and_stores_nothing(running: Running, mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    request = start_request()
    mutate(request)
    with pytest.raises(grpc.RpcError) as err:
        stub.StartVerification(request, metadata=running.md())
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(err.value) == reason
    assert count_sessions(running) == 0


def test_a_localized_message_follows_the_request_locale(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    request = start_request()
    request.phone_e164 = "12345"
    with pytest.raises(grpc.RpcError) as err:
        stub.StartVerification(request, metadata=running.md())
    status = rpc_status.from_call(err.value)  # type: ignore[arg-type]
    texts = []
    for detail in status.details:
        if detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            msg = error_details_pb2.LocalizedMessage()
            detail.Unpack(msg)
            texts.append((msg.locale, msg.message))
    assert texts == [("en", "The phone number is not valid.")]


def test_an_oversized_message_is_refused_before_any_handler_runs(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    request = V.SubmitDocumentRequest(context=context(), session_id="vs_x", front_image=b"\xff" * (9 * 1024 * 1024))
    with pytest.raises(grpc.RpcError) as err:
        stub.SubmitDocument(request, metadata=running.md())
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_an_unknown_case_is_not_found_and_a_staff_read_needs_a_purpose(running: Running) -> None:
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    with pytest.raises(grpc.RpcError) as err:
        cases.GetCase(case_pb2.GetCaseRequest(case_id="case_nothing", purpose="test"), metadata=running.md("support"))
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        cases.GetCase(case_pb2.GetCaseRequest(case_id="case_nothing"), metadata=running.md("support"))
    assert reason_of(err.value) == "purpose_missing"
    audit = audit_pb2_grpc.AuditServiceStub(running.channel)
    report = audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=running.md("admin"))
    assert report.ok


def test_the_database_pool_holds_a_connection_per_thread_that_uses_it(running: Running) -> None:
    assert running.app.engine.pool.size() == running.app.settings.pool_size == 16 + 2 + 4  # type: ignore[attr-defined]


def test_health_is_serving_and_reflection_lists_every_service(running: Running) -> None:
    health = health_pb2_grpc.HealthStub(running.channel)
    for name in ("", *SERVICE_NAMES):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(running.channel)
    replies = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    listed = {s.name for reply in replies for s in reply.list_services_response.service}
    assert set(SERVICE_NAMES) | {"grpc.health.v1.Health"} <= listed


def test_admin_port_serves_metrics_and_the_jwks_with_cache_headers(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    stub.StartVerification(start_request(), metadata=running.md())
    base = f"http://127.0.0.1:{running.app.admin.port}"
    with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert 'idverify_rpc_total{code="OK",method="StartVerification"}' in text
    with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=5) as resp:
        assert "max-age=" in resp.headers["Cache-Control"]
        jwks = json.loads(resp.read())
    assert jwks["keys"] and all(k["kty"] == "OKP" and "d" not in k for k in jwks["keys"])
    with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:
        health = json.loads(resp.read())
    assert health["status"] == "serving" and health["face"] == "loaded"
    assert health["passive_pad"] in {"loaded", "not installed"}
    assert f'idverify_capability{{name="passive_pad",state="{health["passive_pad"]}"}} 1.0' in text
    tokens = token_pb2_grpc.TokenServiceStub(running.channel)
    served = json.loads(tokens.GetJwks(token_pb2.GetJwksRequest(), metadata=running.md("loan_service")).jwks_json)
    assert served == jwks


def test_junk_in_other_rpcs_gets_a_reason_code_and_changes_nothing(running: Running) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = stub.StartVerification(start_request(), metadata=running.md()).verification.session_id
    tokens = token_pb2_grpc.TokenServiceStub(running.channel)
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    calls = [
        (lambda: stub.GetVerification(V.GetVerificationRequest(context=context(), session_id="vs_\x00x"),
                                      metadata=running.md()), "session_id_invalid"),
        (lambda: stub.GetVerification(V.GetVerificationRequest(context=context(), session_id="x" * 5000),
                                      metadata=running.md()), "session_id_invalid"),
        (lambda: stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code="9" * 10_000,
                                                 channel=V.OTP_CHANNEL_SMS), metadata=running.md()),
         "otp_malformed"),
        (lambda: stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code="123456"),
                               metadata=running.md()), "otp_channel_invalid"),
        (lambda: tokens.RedeemToken(token_pb2.RedeemTokenRequest(
            token="\u202e" * 9000, loan_application_id="L-1",
            amount=common_pb2.Money(value="1000.00", currency="CNY"), payout_account="6222-01"),
            metadata=running.md("loan_service")), "token_invalid"),
        (lambda: tokens.RedeemToken(token_pb2.RedeemTokenRequest(
            token="a.b.c", loan_application_id="L-1", amount=common_pb2.Money(value="1e3", currency="CNY"),
            payout_account="6222-01"), metadata=running.md("loan_service")), "amount_invalid"),
        (lambda: cases.ReportUnauthorizedApplication(case_pb2.ReportUnauthorizedApplicationRequest(
            applicant_id="acct-1", reference="not a reference"), metadata=running.md()), "case_subject_unknown"),
        (lambda: cases.ReportUnauthorizedApplication(case_pb2.ReportUnauthorizedApplicationRequest(
            applicant_id="acct-1"), metadata=running.md()), "case_subject_required"),
        (lambda: cases.GetCase(case_pb2.GetCaseRequest(case_id="c\x07", purpose="review"),
                               metadata=running.md("support")), "case_id_invalid"),
    ]
    before = count_sessions(running)
    for call, reason in calls:
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() is not grpc.StatusCode.INTERNAL
        assert reason_of(err.value) == reason
    assert count_sessions(running) == before
    session = stub.GetVerification(V.GetVerificationRequest(context=context(), session_id=sid),
                                   metadata=running.md()).verification
    assert list(session.results) == []
