"""Staff must use their second factor (IDVERIFY_STAFF_SESSIONS_REQUIRED): with the setting on, a staff member's API
key (or certificate) alone only signs in; every other staff RPC needs the bearer staff session opened with their own
TOTP code. Service roles are unaffected, and a key holding both kinds of role is refused at start-up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import text

from idverify.api.v1 import audit_pb2, audit_pb2_grpc, case_pb2, case_pb2_grpc, token_pb2, token_pb2_grpc
from idverify.config import ConfigError, Settings
from idverify.domain.callers import Caller, Role
from idverify.domain.errors import PermissionDenied
from idverify.transport.auth import STAFF_ROLES, ApiKeyEntry, Authenticator, hash_api_key
from idverify.transport.permissions import ALLOWED, STAFF_SIGN_IN
from idverify.transport.texts import text_for
from tests.conftest import postgres_schema
from tests.console.conftest import auditor, code_at, enroll, staff_running
from tests.console.pages import reported_case
from tests.transport.conftest import Running, running_app, start_app
from tests.transport.test_server import reason_of

STAFF = ("support", "risk_analyst", "admin")


@pytest.fixture(params=["sqlite", "postgres"])
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    if request.param == "sqlite":
        with staff_running(tmp_path) as r:
            yield r
        return
    base = os.environ.get("IDVERIFY_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("IDVERIFY_TEST_POSTGRES_URL is not set (CI sets it); PostgreSQL variant skipped")
    with postgres_schema(base) as url, staff_running(tmp_path, IDVERIFY_DATABASE_URL=url) as r:
        yield r


def call(running: Running, method: str, metadata: list[tuple[str, str]]) -> bytes:
    """Call ``method`` with an empty request (every request message accepts one) and return the raw answer."""
    answer: bytes = running.channel.unary_unary(method)(b"", metadata=metadata, timeout=10)
    return answer


def bearer(credential: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {credential}")]


def sign_in(running: Running, role: str, step: int = 0) -> list[tuple[str, str]]:
    totp = enroll(running, role)
    session = case_pb2_grpc.CaseServiceStub(running.channel).StartStaffSession(
        case_pb2.StartStaffSessionRequest(totp_code=code_at(totp, step)), metadata=running.md(role))
    return bearer(session.session_credential)


def localized_messages(err: grpc.RpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    found = []
    for detail in status.details:
        if detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            message = error_details_pb2.LocalizedMessage()
            detail.Unpack(message)
            found.append((message.locale, message.message))
    return found


def refused_for(running: Running, role: str) -> dict[str, str]:
    """Every RPC the role may call, mapped to the reason its key alone is refused with ("" when it is not)."""
    out = {}
    for method, roles in sorted(ALLOWED.items()):
        if Role(role) not in roles:
            continue
        try:
            call(running, method, running.md(role))
            out[method] = ""
        except grpc.RpcError as err:
            out[method] = reason_of(err)
    return out


def test_a_staff_key_alone_only_signs_in_and_each_refusal_is_audited(running: Running) -> None:
    for role in STAFF:
        reasons = refused_for(running, role)
        needing = {m for m, r in reasons.items() if r == "staff_session_required"}
        assert needing == set(reasons) - STAFF_SIGN_IN, role
        assert {"/idverify.v1.CaseService/GetCase", "/idverify.v1.CaseService/ListCases",
                "/idverify.v1.CaseService/DecideApproval"} <= needing
        # Signing in stays open to the key: enrolment works (once), an empty code is a bad code, not a refusal.
        assert reasons["/idverify.v1.CaseService/EnrollStaffTotp"] == ""
        assert reasons["/idverify.v1.CaseService/StartStaffSession"] == "otp_malformed"
        assert reasons["/idverify.v1.CaseService/EndStaffSession"] == "staff_session_missing"
        assert reasons["/idverify.v1.TokenService/GetJwks"] == ""
    with pytest.raises(grpc.RpcError) as err:
        call(running, "/idverify.v1.CaseService/GetCase", running.md("support"))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert localized_messages(err.value) == [("zh-CN", text_for("staff_session_required", "zh-CN"))]
    assert "StartStaffSession" in text_for("staff_session_required", "en")
    refusals = audit_pb2_grpc.AuditServiceStub(running.channel).SearchAuditEvents(
        audit_pb2.SearchAuditEventsRequest(purpose="test check", actor="dev-support", action="rpc.refused",
                                           page_size=100), metadata=auditor(running)).events
    refused = {(e.object_id, e.outcome, e.reason_code) for e in refusals}
    assert ("GetCase", "refused", "staff_session_required") in refused
    assert ("DecideApproval", "refused", "staff_session_required") in refused


def test_after_signing_in_with_their_code_the_same_staff_members_work_the_case(running: Running) -> None:
    case = reported_case(running)  # the app backend is unaffected: it verified and reported without a session
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    support, admin = sign_in(running, "support"), sign_in(running, "admin")
    with pytest.raises(grpc.RpcError) as err:
        cases.GetCase(case_pb2.GetCaseRequest(case_id=case.case_id, purpose="call"), metadata=running.md("support"))
    assert reason_of(err.value) == "staff_session_required"

    seen = cases.GetCase(case_pb2.GetCaseRequest(case_id=case.case_id, purpose="applicant called"),
                         metadata=support).case
    assert seen.case_id == case.case_id
    assert case.case_id in [c.case_id for c in cases.ListCases(case_pb2.ListCasesRequest(), metadata=support).cases]
    asked = cases.RequestApproval(case_pb2.RequestApprovalRequest(
        action="unfreeze_identity", object_id="acct-1", applicant_id="acct-1", reason="checked with applicant"),
        metadata=support).approval
    with pytest.raises(grpc.RpcError) as err:
        cases.DecideApproval(case_pb2.DecideApprovalRequest(approval_id=asked.approval_id, approve=True),
                             metadata=running.md("admin"))
    assert reason_of(err.value) == "staff_session_required"
    decided = cases.DecideApproval(case_pb2.DecideApprovalRequest(approval_id=asked.approval_id, approve=True),
                                   metadata=admin).approval
    assert (decided.status, decided.decided_by) == ("approved", "dev-admin")
    # The role table still applies to sessions: support cannot search the audit trail.
    with pytest.raises(grpc.RpcError) as err:
        audit_pb2_grpc.AuditServiceStub(running.channel).SearchAuditEvents(
            audit_pb2.SearchAuditEventsRequest(purpose="curious"), metadata=support)
    assert reason_of(err.value) == "role_not_allowed"


def test_an_expired_session_is_refused_and_the_key_still_does_not_stand_in(running: Running) -> None:
    support = sign_in(running, "support")
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    assert list(cases.ListCases(case_pb2.ListCasesRequest(), metadata=support).cases) == []
    with running.app.engine.begin() as conn:
        conn.execute(text("UPDATE staff_sessions SET expires_at = created_at"))
    with pytest.raises(grpc.RpcError) as err:
        cases.ListCases(case_pb2.ListCasesRequest(), metadata=support)
    assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED and reason_of(err.value) == "staff_session_expired"
    with pytest.raises(grpc.RpcError) as err:
        cases.ListCases(case_pb2.ListCasesRequest(), metadata=running.md("support"))
    assert reason_of(err.value) == "staff_session_required"


def test_service_roles_are_unaffected(running: Running) -> None:
    tokens = token_pb2_grpc.TokenServiceStub(running.channel)
    assert tokens.GetJwks(token_pb2.GetJwksRequest(), metadata=running.md("loan_service")).jwks_json
    for role in ("app_backend", "loan_service"):
        assert "staff_session_required" not in refused_for(running, role).values(), role


def test_in_development_by_default_a_staff_key_still_works_alone(tmp_path: Path) -> None:
    with running_app(tmp_path) as running:
        assert not running.app.settings.staff_sessions_required
        listed = case_pb2_grpc.CaseServiceStub(running.channel).ListCases(case_pb2.ListCasesRequest(),
                                                                          metadata=running.md("support"))
        assert list(listed.cases) == []


KEY = "A" * 43 + "="
PRODUCTION = {"IDVERIFY_ENV": "production", "IDVERIFY_DATA_KEYS": f"k1:{KEY}", "IDVERIFY_INDEX_KEY": KEY,
              "IDVERIFY_OTP_KEY": KEY, "IDVERIFY_PAIRWISE_SECRET": KEY, "IDVERIFY_AUDIT_KEY": KEY,
              "IDVERIFY_SMS_SENDER": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t",
              "TWILIO_FROM_NUMBER": "+15005550006", "IDVERIFY_API_KEYS": f"app:app_backend:{'b' * 64}"}


def test_the_setting_is_on_in_production_off_in_development_and_validated() -> None:
    assert Settings.from_env(PRODUCTION).staff_sessions_required is True
    assert Settings.from_env({**PRODUCTION, "IDVERIFY_STAFF_SESSIONS_REQUIRED": "false"}
                             ).staff_sessions_required is False
    assert Settings.from_env({}).staff_sessions_required is False
    assert Settings.from_env({"IDVERIFY_STAFF_SESSIONS_REQUIRED": "on"}).staff_sessions_required is True
    with pytest.raises(ConfigError, match="IDVERIFY_STAFF_SESSIONS_REQUIRED"):
        Settings.from_env({"IDVERIFY_STAFF_SESSIONS_REQUIRED": "sometimes"})


@pytest.mark.parametrize(("name", "value"), [
    ("IDVERIFY_API_KEYS", f"app:app_backend:{'b' * 64},ops-tool:support+loan_service:{'c' * 64}"),
    ("IDVERIFY_MTLS_CALLERS", "ops-tool:admin+app_backend"),
])
def test_a_caller_with_staff_and_service_roles_is_refused_at_start_up_naming_it(name: str, value: str,
                                                                                 tmp_path: Path) -> None:
    env = {**PRODUCTION, name: value}
    if name == "IDVERIFY_MTLS_CALLERS":
        ca = tmp_path / "ca.pem"
        ca.write_text("not read at this stage")
        env.update(IDVERIFY_TLS_CLIENT_CA_FILE=str(ca), IDVERIFY_TLS_CERT_FILE=str(ca), IDVERIFY_TLS_KEY_FILE=str(ca))
    with pytest.raises(ConfigError, match=f"{name}: caller 'ops-tool' holds both a staff role and a service role"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "IDVERIFY_STAFF_SESSIONS_REQUIRED": "false"}).staff_sessions_required is False


def test_a_keys_file_with_a_mixed_caller_stops_start_up_and_one_added_later_gets_no_staff_power(
        tmp_path: Path) -> None:
    keys_file = tmp_path / "api-keys.txt"
    keys_file.write_text(f"ops-tool:support+app_backend:{hash_api_key('ops-key')}\n")
    with pytest.raises(ConfigError, match="IDVERIFY_API_KEYS_FILE: caller 'ops-tool'"):
        start_app(tmp_path / "first", IDVERIFY_API_KEYS_FILE=str(keys_file), IDVERIFY_STAFF_SESSIONS_REQUIRED="true")

    keys_file.write_text(f"ops-tool:app_backend:{hash_api_key('ops-key')}\n")
    app = start_app(tmp_path / "data", IDVERIFY_API_KEYS_FILE=str(keys_file), IDVERIFY_STAFF_SESSIONS_REQUIRED="true",
                    IDVERIFY_API_KEYS_RECHECK_S="0")  # the file's changes seen at once
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    try:
        # Reloaded without a restart, the mixed key keeps its service role; its staff role needs a session.
        keys_file.write_text(f"ops-tool:support+app_backend:{hash_api_key('ops-key')}\n")
        os.utime(keys_file, ns=(0, keys_file.stat().st_mtime_ns + 1_000_000_000))
        cases = case_pb2_grpc.CaseServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            cases.ListCases(case_pb2.ListCasesRequest(), metadata=[("x-api-key", "ops-key")])
        assert reason_of(err.value) == "staff_session_required"
        with pytest.raises(grpc.RpcError) as err:  # reached through app_backend: refused for its input instead
            cases.FreezeIdentity(case_pb2.FreezeIdentityRequest(), metadata=[("x-api-key", "ops-key")])
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    finally:
        channel.close()
        app.stop(grace_s=1)


def test_certificate_staff_are_held_to_sessions_too() -> None:
    authenticator = Authenticator([], {"desk-7": frozenset({Role.SUPPORT})}, staff_sessions_required=True)
    caller = Caller(caller_id="desk-7", roles=frozenset({Role.SUPPORT}), method="mtls")
    with pytest.raises(PermissionDenied) as err:
        authenticator.require_staff_session(caller, ALLOWED["/idverify.v1.CaseService/GetCase"], sign_in=False)
    assert err.value.code == "staff_session_required"
    session = Caller(caller_id="desk-7", roles=frozenset({Role.SUPPORT}), method="staff_session")
    authenticator.require_staff_session(session, ALLOWED["/idverify.v1.CaseService/GetCase"], sign_in=False)
    with pytest.raises(ValueError, match="'both'"):
        Authenticator([ApiKeyEntry("both", STAFF_ROLES | {Role.LOAN_SERVICE}, b"\0" * 32)], {},
                      staff_sessions_required=True)
    Authenticator([ApiKeyEntry("both", STAFF_ROLES | {Role.LOAN_SERVICE}, b"\0" * 32)], {})
