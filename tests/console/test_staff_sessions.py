"""Staff sign-in through the service: the staff member's own API key plus a code from their own authenticator
gives a short-lived session credential that acts with that staff member's identity and staff roles only."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from idverify.api.v1 import audit_pb2, audit_pb2_grpc, case_pb2, case_pb2_grpc, token_pb2, token_pb2_grpc
from tests.console.conftest import auditor, code_at, enroll
from tests.transport.conftest import Running
from tests.transport.test_key_rotation import eventually
from tests.transport.test_server import reason_of


def sign_in(running: Running, role: str, code: str) -> case_pb2.StartStaffSessionResponse:
    return case_pb2_grpc.CaseServiceStub(running.channel).StartStaffSession(
        case_pb2.StartStaffSessionRequest(totp_code=code), metadata=running.md(role))


def bearer(credential: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {credential}")]


def actions(running: Running, object_id: str) -> list[tuple[str, str, str]]:
    events = audit_pb2_grpc.AuditServiceStub(running.channel).ListAuditEvents(
        audit_pb2.ListAuditEventsRequest(object_id=object_id, purpose="test"), metadata=auditor(running)).events
    return [(e.action, e.outcome, e.reason_code) for e in events]


def test_a_staff_session_acts_as_the_staff_member_with_their_staff_roles(running: Running) -> None:
    totp = enroll(running, "risk_analyst")
    session = sign_in(running, "risk_analyst", code_at(totp, 0))
    assert session.staff_id == "dev-risk_analyst" and list(session.roles) == ["risk_analyst"]
    assert session.session_credential.startswith("idvss_")

    audit = audit_pb2_grpc.AuditServiceStub(running.channel)
    found = audit.SearchAuditEvents(audit_pb2.SearchAuditEventsRequest(purpose="sign-in review",
                                                                       object_id="dev-risk_analyst"),
                                    metadata=bearer(session.session_credential)).events
    assert [(e.action, e.outcome) for e in found] == [("staff.sign_in", "ok"), ("staff.totp_enrolled", "ok")]
    # The role table applies unchanged: an analyst's session cannot resolve cases or revoke tokens.
    with pytest.raises(grpc.RpcError) as err:
        token_pb2_grpc.TokenServiceStub(running.channel).RevokeTokens(
            token_pb2.RevokeTokensRequest(applicant_id="acct-1"), metadata=bearer(session.session_credential))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    # The search itself was audited, with its purpose and the analyst's identity.
    searched = audit.SearchAuditEvents(audit_pb2.SearchAuditEventsRequest(purpose="check", action="audit.searched"),
                                       metadata=auditor(running)).events
    assert [(e.actor, e.purpose) for e in searched][-1] == ("dev-risk_analyst", "sign-in review")


def test_wrong_and_replayed_codes_are_refused_and_audited(running: Running) -> None:
    totp = enroll(running, "support")
    good = code_at(totp, 0)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    with pytest.raises(grpc.RpcError) as err:
        sign_in(running, "support", wrong)
    assert reason_of(err.value) == "totp_incorrect"
    sign_in(running, "support", good)
    with pytest.raises(grpc.RpcError) as err:
        sign_in(running, "support", good)
    assert reason_of(err.value) == "totp_replayed"
    assert actions(running, "dev-support")[-3:] == [("staff.sign_in", "refused", "totp_incorrect"),
                                                    ("staff.sign_in", "ok", ""),
                                                    ("staff.sign_in", "refused", "totp_replayed")]
    # Nobody else's code and no code at all: a staff member who never enrolled cannot sign in.
    with pytest.raises(grpc.RpcError) as err:
        sign_in(running, "admin", good)
    assert reason_of(err.value) == "totp_not_enrolled"


def test_only_staff_roles_sign_in_and_only_with_their_own_api_key(running: Running) -> None:
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    with pytest.raises(grpc.RpcError) as err:
        cases.EnrollStaffTotp(case_pb2.EnrollStaffTotpRequest(), metadata=running.md("app_backend"))
    assert reason_of(err.value) == "role_not_allowed"
    totp = enroll(running, "support")
    with pytest.raises(grpc.RpcError) as err:
        enroll(running, "support")
    assert reason_of(err.value) == "totp_already_enrolled"
    session = sign_in(running, "support", code_at(totp, 0))
    # A session cannot open another session, nor re-enrol the authenticator.
    with pytest.raises(grpc.RpcError) as err:
        cases.StartStaffSession(case_pb2.StartStaffSessionRequest(totp_code=code_at(totp, 1)),
                                metadata=bearer(session.session_credential))
    assert reason_of(err.value) == "staff_api_key_required"
    # Both an API key and a session on one call are refused rather than guessed between.
    with pytest.raises(grpc.RpcError) as err:
        cases.ListCases(case_pb2.ListCasesRequest(), metadata=[*running.md("admin"),
                                                               *bearer(session.session_credential)])
    assert reason_of(err.value) == "credentials_ambiguous"


def test_an_ended_expired_or_forged_session_is_refused(running: Running) -> None:
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    totp = enroll(running, "support")
    session = sign_in(running, "support", code_at(totp, 0))
    assert cases.ListCases(case_pb2.ListCasesRequest(), metadata=bearer(session.session_credential)).cases == []
    for forged in ("idvss_" + "A" * 43, session.session_credential + "x", "Basic abc"):
        with pytest.raises(grpc.RpcError) as err:
            cases.ListCases(case_pb2.ListCasesRequest(), metadata=[("authorization", forged)]
                            if forged.startswith("Basic") else bearer(forged))
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
    cases.EndStaffSession(case_pb2.EndStaffSessionRequest(), metadata=bearer(session.session_credential))
    with pytest.raises(grpc.RpcError) as err:
        cases.ListCases(case_pb2.ListCasesRequest(), metadata=bearer(session.session_credential))
    assert reason_of(err.value) == "staff_session_invalid"

    later = sign_in(running, "support", code_at(totp, 1))
    with running.app.engine.begin() as conn:
        conn.execute(text("UPDATE staff_sessions SET expires_at = created_at"))
    with pytest.raises(grpc.RpcError) as err:
        cases.ListCases(case_pb2.ListCasesRequest(), metadata=bearer(later.session_credential))
    assert reason_of(err.value) == "staff_session_expired"
    with running.app.engine.connect() as conn:  # only digests are stored, never the credential
        stored = conn.execute(text("SELECT credential_sha256 FROM staff_sessions")).scalars().all()
    assert len(stored) == 2 and later.session_credential not in stored


@pytest.mark.parametrize("recheck", ["0", ""])
def test_withdrawing_the_staff_members_api_key_ends_their_session(tmp_path: Path, recheck: str) -> None:
    """With a recheck of 0 at once; with the default (the file looked at once a second), at the next look, while
    the session is in use."""
    import os

    import pyotp

    from idverify.transport.auth import hash_api_key
    from tests.transport.conftest import start_app

    keys_file = tmp_path / "api-keys.txt"
    keys_file.write_text(f"alice:support:{hash_api_key('alice-key-1')}\nbob:admin:{hash_api_key('bob-key-1')}\n")
    recheck_env = {"IDVERIFY_API_KEYS_RECHECK_S": recheck} if recheck else {}
    app = start_app(tmp_path / "data", IDVERIFY_API_KEYS_FILE=str(keys_file), IDVERIFY_STAFF_SESSIONS_REQUIRED="true",
                    **recheck_env)
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    try:
        cases = case_pb2_grpc.CaseServiceStub(channel)
        uri = cases.EnrollStaffTotp(case_pb2.EnrollStaffTotpRequest(),
                                    metadata=[("x-api-key", "alice-key-1")]).provisioning_uri
        session = cases.StartStaffSession(case_pb2.StartStaffSessionRequest(
            totp_code=code_at(pyotp.parse_uri(uri), 0)), metadata=[("x-api-key", "alice-key-1")])
        assert session.staff_id == "alice"
        assert cases.ListCases(case_pb2.ListCasesRequest(), metadata=bearer(session.session_credential)).cases == []
        # Alice's key is withdrawn (and the same key now names someone else): her session goes with it.
        keys_file.write_text(f"mallory:admin:{hash_api_key('alice-key-1')}\nbob:admin:{hash_api_key('bob-key-1')}\n")
        os.utime(keys_file, ns=(0, keys_file.stat().st_mtime_ns + 1_000_000_000))
        def refused() -> None:
            with pytest.raises(grpc.RpcError) as err:
                cases.ListCases(case_pb2.ListCasesRequest(), metadata=bearer(session.session_credential))
            assert reason_of(err.value) == "staff_session_invalid"

        if recheck == "0":
            refused()
        else:
            eventually(refused)
    finally:
        channel.close()
        app.stop(grace_s=1)
