"""The whole "I never applied" story over gRPC: a verification completes and a token is issued; the applicant
reports it; the token's redemption then fails; new verifications for that identity are refused; two staff members
resolve the case and lift the freeze (nobody approves their own request); the audit chain verifies; a signed
evidence bundle comes out; editing one audit row by hand makes verification fail at that row; and no phone number
or payout account is in the database file in plaintext."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import text

from idverify.api.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    case_pb2,
    case_pb2_grpc,
    token_pb2,
    token_pb2_grpc,
    verification_pb2_grpc,
)
from idverify.api.v1 import verification_pb2 as V
from idverify.client.jose import REGISTRY
from tests.transport.conftest import Running
from tests.transport.test_server import context, reason_of, start_request
from tests.transport.test_verification_flow import open_and_pass_otp, redeem


def test_the_whole_dispute_story(running: Running, tmp_path: Path) -> None:
    verifications = verification_pb2_grpc.VerificationServiceStub(running.channel)
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    audit = audit_pb2_grpc.AuditServiceStub(running.channel)

    sid = open_and_pass_otp(running, verifications)
    done = verifications.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                              metadata=running.md())
    reference = done.verification.reference

    # The applicant types the reference from the completion SMS the way people do: lower case, no hyphen.
    report = cases.ReportUnauthorizedApplication(case_pb2.ReportUnauthorizedApplicationRequest(
        applicant_id="acct-1", reference=reference.replace("-", "").lower(), description="I never applied"),
        metadata=running.md()).case
    assert report.state == "opened" and report.session_id == sid and report.revoked_tokens == 1

    with pytest.raises(grpc.RpcError) as err:
        redeem(running, done.token)
    assert reason_of(err.value) == "token_revoked"
    marked = verifications.GetVerification(V.GetVerificationRequest(context=context(), session_id=sid),
                                           metadata=running.md()).verification
    assert marked.reason_code == "disputed"
    with pytest.raises(grpc.RpcError) as err:
        verifications.StartVerification(start_request(loan="L-2"), metadata=running.md())
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(err.value) == "identity_frozen"

    # Someone else cannot be frozen out through this applicant's report: the reference names acct-1's session.
    with pytest.raises(grpc.RpcError) as err:
        cases.ReportUnauthorizedApplication(case_pb2.ReportUnauthorizedApplicationRequest(
            applicant_id="acct-2", reference=reference), metadata=running.md())
    assert reason_of(err.value) == "case_subject_mismatch"

    resolved = cases.ResolveCase(case_pb2.ResolveCaseRequest(case_id=report.case_id, fraud_confirmed=True,
                                                             outcome="loan_cancelled"),
                                 metadata=running.md("support")).case
    assert resolved.state == "resolved_fraud_confirmed" and resolved.decided_by == "dev-support"

    asked = cases.RequestApproval(case_pb2.RequestApprovalRequest(
        action="unfreeze_identity", object_id="acct-1", applicant_id="acct-1", reason="case closed as fraud"),
        metadata=running.md("support")).approval
    with pytest.raises(grpc.RpcError) as err:
        cases.DecideApproval(case_pb2.DecideApprovalRequest(approval_id=asked.approval_id, approve=True),
                             metadata=running.md("support"))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as err:
        cases.UnfreezeIdentity(case_pb2.UnfreezeIdentityRequest(applicant_id="acct-1",
                                                                approval_id=asked.approval_id),
                               metadata=running.md("support"))
    assert err.value.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED)
    approved = cases.DecideApproval(case_pb2.DecideApprovalRequest(approval_id=asked.approval_id, approve=True),
                                    metadata=running.md("admin")).approval
    assert approved.status == "approved" and approved.decided_by == "dev-admin"
    lifted = cases.UnfreezeIdentity(case_pb2.UnfreezeIdentityRequest(applicant_id="acct-1",
                                                                     approval_id=asked.approval_id),
                                    metadata=running.md("support")).freeze
    assert lifted.frozen is False
    assert verifications.StartVerification(start_request(loan="L-3"), metadata=running.md()).verification.session_id

    evidence = cases.ExportEvidence(case_pb2.ExportEvidenceRequest(case_id=report.case_id, purpose="bureau dispute"),
                                    metadata=running.md("admin"))
    jwks = json.loads(token_pb2_grpc.TokenServiceStub(running.channel).GetJwks(
        token_pb2.GetJwksRequest(), metadata=running.md("loan_service")).jwks_json)
    verified = jws.deserialize_compact(evidence.signed_bundle, KeySet.import_key_set(jwks), registry=REGISTRY)
    bundle = json.loads(verified.payload)
    assert bundle == json.loads(evidence.bundle_json)
    assert [r["factor"] for r in bundle["verification"]["factor_results"]] == ["sms_otp"]
    assert bundle["verification"]["tokens"][0]["revoke_reason"] == "dispute"
    assert {"verification.started", "token.issued", "tokens.revoked"} <= {e["action"] for e in bundle["audit"]}
    assert "13800138000" not in evidence.bundle_json and "6222-01" not in evidence.bundle_json

    chain = audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=running.md("admin"))
    assert chain.ok and chain.entries_checked >= 10
    listed = audit.ListAuditEvents(audit_pb2.ListAuditEventsRequest(object_id=sid, purpose="case review"),
                                   metadata=running.md("risk_analyst")).events
    target = next(e for e in listed if e.action == "token.issued")
    with running.app.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET outcome = 'refused' WHERE seq = :seq"), {"seq": target.seq})
    chain = audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=running.md("admin"))
    assert not chain.ok
    assert chain.first_bad_seq == target.seq and chain.problem == "edited"

    raw = b"".join(p.read_bytes() for p in running.data_dir.glob("idverify.db*"))
    for secret in (b"13800138000", b"6222-01", b"I never applied"):
        assert secret not in raw


def test_a_denied_call_is_audited(running: Running) -> None:
    tokens = token_pb2_grpc.TokenServiceStub(running.channel)
    with pytest.raises(grpc.RpcError):
        tokens.RedeemToken(token_pb2.RedeemTokenRequest(token="x"), metadata=running.md("app_backend"))
    events = audit_pb2_grpc.AuditServiceStub(running.channel).ListAuditEvents(
        audit_pb2.ListAuditEventsRequest(object_id="RedeemToken", purpose="denial review"),
        metadata=running.md("admin")).events
    assert [(e.action, e.reason_code, e.actor) for e in events] == [("rpc.refused", "role_not_allowed",
                                                                    "dev-app_backend")]


def test_erasing_an_applicants_data_keeps_only_the_audit_chain(running: Running) -> None:
    verifications = verification_pb2_grpc.VerificationServiceStub(running.channel)
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    sid = open_and_pass_otp(running, verifications)
    done = verifications.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                              metadata=running.md())
    case = cases.ReportUnauthorizedApplication(case_pb2.ReportUnauthorizedApplicationRequest(
        applicant_id="acct-1", reference=done.verification.reference), metadata=running.md()).case
    with pytest.raises(grpc.RpcError) as err:
        cases.EraseApplicantData(case_pb2.EraseApplicantDataRequest(applicant_id="acct-1", purpose="request 77"),
                                 metadata=running.md("admin"))
    assert reason_of(err.value) == "erasure_blocked_open_case"
    cases.ResolveCase(case_pb2.ResolveCaseRequest(case_id=case.case_id, fraud_confirmed=True,
                                                  outcome="loan_cancelled"), metadata=running.md("support"))
    erased = cases.EraseApplicantData(case_pb2.EraseApplicantDataRequest(applicant_id="acct-1",
                                                                         purpose="request 77"),
                                      metadata=running.md("admin")).deleted
    assert erased["verification_sessions"] == 1 and erased["issued_tokens"] == 1 and erased["factor_results"] == 1
    assert erased["otp_challenges"] >= 1 and erased["risk_observations"] >= 1
    with running.app.engine.connect() as conn:
        for table in ("verification_sessions", "factor_results", "issued_tokens", "otp_challenges"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
    with pytest.raises(grpc.RpcError) as err:
        verifications.GetVerification(V.GetVerificationRequest(context=context(), session_id=sid),
                                      metadata=running.md())
    assert reason_of(err.value) == "session_not_found"
    chain = audit_pb2_grpc.AuditServiceStub(running.channel).VerifyAuditChain(
        audit_pb2.VerifyAuditChainRequest(), metadata=running.md("admin"))
    assert chain.ok


def test_a_report_notifies_the_lenders_loan_service_with_a_signed_webhook(tmp_path: Path) -> None:
    import threading
    import time
    import tomllib
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from standardwebhooks import Webhook

    from tests.transport.conftest import start_app

    received: list[tuple[bytes, dict[str, str]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, dict(self.headers.items())))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    hook = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    secret = "a webhook secret of the lender"
    app = start_app(tmp_path, IDVERIFY_CASE_WEBHOOK_URL=f"http://127.0.0.1:{hook.server_port}/cases",
                    IDVERIFY_WEBHOOK_SECRET=secret)
    keys = tomllib.loads((tmp_path / "dev-api-keys.toml").read_text())
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    try:
        running = Running(app, channel, keys, tmp_path)
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        sid = open_and_pass_otp(running, stub)
        done = stub.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                         metadata=running.md())
        case = case_pb2_grpc.CaseServiceStub(channel).ReportUnauthorizedApplication(
            case_pb2.ReportUnauthorizedApplicationRequest(applicant_id="acct-1", reference=done.verification.reference),
            metadata=running.md()).case
        deadline = time.monotonic() + 10  # delivered from the outbox just after the report commits
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        channel.close()
        app.stop(grace_s=1)
        hook.shutdown()
    body, headers = received[0]
    event = Webhook(secret.encode()).verify(body, headers)  # raises when the signature does not verify
    assert event["type"] == "case.opened" and event["data"]["case_id"] == case.case_id
    assert event["data"]["loan_application_id"] == "L-1" and event["data"]["revoked_tokens"] == 1


def test_staff_linked_to_an_applicant_can_neither_request_nor_approve_on_them(running: Running) -> None:
    verifications = verification_pb2_grpc.VerificationServiceStub(running.channel)
    cases = case_pb2_grpc.CaseServiceStub(running.channel)
    open_and_pass_otp(running, verifications)  # the applicant's phone and device are now in the risk records
    request = case_pb2.RequestApprovalRequest(action="unfreeze_identity", object_id="acct-1", applicant_id="acct-1",
                                              reason="test")
    with pytest.raises(grpc.RpcError) as err:
        cases.DeclareStaffLinks(case_pb2.DeclareStaffLinksRequest(staff_id="dev-support"),
                                metadata=running.md("support"))
    assert reason_of(err.value) == "role_not_allowed"  # staff cannot edit their own links

    cases.DeclareStaffLinks(case_pb2.DeclareStaffLinksRequest(staff_id="dev-support", relation="family",
                                                              related_applicant_ids=["acct-1"]),
                            metadata=running.md("admin"))
    with pytest.raises(grpc.RpcError) as err:
        cases.RequestApproval(request, metadata=running.md("support"))
    assert reason_of(err.value) == "staff_linked_to_applicant"

    # A staff member whose own phone is the applicant's is linked too, without any declared relation.
    asked = cases.RequestApproval(request, metadata=running.md("risk_analyst")).approval
    cases.DeclareStaffLinks(case_pb2.DeclareStaffLinksRequest(staff_id="dev-admin", phones_e164=["+8613800138000"]),
                            metadata=running.md("admin"))
    with pytest.raises(grpc.RpcError) as err:
        cases.DecideApproval(case_pb2.DecideApprovalRequest(approval_id=asked.approval_id, approve=True),
                             metadata=running.md("admin"))
    assert reason_of(err.value) == "staff_linked_to_applicant"
