"""The console's pages against a running service: sign-in with the staff member's own key and authenticator,
security headers, CSRF, purposes, labels, both languages, and refusals shown as the service gives them."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from idverify.api.v1 import audit_pb2, audit_pb2_grpc, case_pb2, case_pb2_grpc
from tests.console.conftest import auditor, code_at, enroll
from tests.console.pages import console_client, controls_of, form_token, reported_case, sign_in
from tests.transport.conftest import Running


def audit_actions(running: Running, **filters: str) -> list[audit_pb2.AuditEvent]:
    """Entries matching ``filters``, newest first, without this helper's own (audited) searches."""
    events = audit_pb2_grpc.AuditServiceStub(running.channel).SearchAuditEvents(
        audit_pb2.SearchAuditEventsRequest(purpose="test check", **filters), metadata=auditor(running)).events
    return [e for e in events if not (e.action == "audit.searched" and e.purpose == "test check")]


@pytest.fixture
def console(running: Running) -> TestClient:
    return console_client(running)


def test_pages_carry_strict_security_headers_and_no_inline_script_or_style(running: Running,
                                                                           console: TestClient) -> None:
    totp = enroll(running, "support")
    for response in (console.get("/sign-in"), console.get("/static/console.js"), console.get("/nowhere")):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain HTTP here; HSTS only with TLS
    sign_in(console, running, "support", totp)
    case = reported_case(running)
    for path in ("/cases", f"/cases/{case.case_id}", f"/cases/{case.case_id}?purpose=dispute+call",
                 "/approvals", "/approvals?scope=mine", "/freeze", "/audit", "/links"):
        page = console.get(path)
        assert page.status_code == 200, path
        assert page.headers["cache-control"] == "no-store"
        found = controls_of(page.text)
        assert not found.inline_script and found.style_attributes == 0, path


def test_sign_in_needs_the_staff_members_own_key_and_code_and_the_cookie_is_opaque(running: Running,
                                                                                   console: TestClient) -> None:
    totp = enroll(running, "support")
    page = console.get("/sign-in")
    refused = console.post("/sign-in", data={"csrf": form_token(page.text), "api_key": running.keys["support"],
                                             "code": "000000" if code_at(totp, 0) != "000000" else "111111"})
    assert refused.status_code == 401 and "totp_incorrect" in refused.text
    wrong_key = console.post("/sign-in", data={"csrf": form_token(page.text), "api_key": "not-a-key",
                                               "code": code_at(totp, 0)})
    assert wrong_key.status_code == 401 and "credentials_invalid" in wrong_key.text
    app_key = console.post("/sign-in", data={"csrf": form_token(page.text), "api_key": running.keys["app_backend"],
                                             "code": code_at(totp, 0)})
    assert app_key.status_code == 401 and "role_not_allowed" in app_key.text

    assert console.get("/cases").headers["location"] == "/sign-in"  # nothing without a session
    sign_in(console, running, "support", totp)
    cookie = console.cookies["idv_session"]
    assert not cookie.startswith("idvss_")
    listed = console.get("/cases")
    assert "dev-support" in listed.text and "idvss_" not in listed.text and running.keys["support"] not in listed.text
    set_cookie = console.get("/sign-in").headers.get("set-cookie", "")
    assert "httponly" in set_cookie.lower() and "samesite=strict" in set_cookie.lower()


def test_a_post_without_the_sessions_csrf_token_changes_nothing(running: Running, console: TestClient) -> None:
    totp = enroll(running, "support")
    csrf = sign_in(console, running, "support", totp)
    forged = console.post("/freeze", data={"applicant_id": "acct-9", "reason": "forged"})
    assert forged.status_code == 403
    wrong = console.post("/freeze", data={"applicant_id": "acct-9", "reason": "forged", "csrf": csrf[:-1] + "x"})
    assert wrong.status_code == 403
    assert audit_actions(running, object_id="acct-9") == []
    done = console.post("/freeze", data={"applicant_id": "acct-9", "reason": "asked", "csrf": csrf})
    assert done.status_code == 303
    assert [e.actor for e in audit_actions(running, object_id="acct-9")] == ["dev-support"]


def test_the_case_page_demands_a_purpose_then_shows_the_signed_timeline(running: Running,
                                                                       console: TestClient) -> None:
    case = reported_case(running)
    sign_in(console, running, "support", enroll(running, "support"))
    queue = console.get("/cases")
    assert case.case_id in queue.text and "data-deadline" in queue.text
    prompt = console.get(f"/cases/{case.case_id}")
    assert 'name="purpose"' in prompt.text and 'id="timeline"' not in prompt.text
    page = console.get(f"/cases/{case.case_id}", params={"purpose": "customer call 42"})
    assert 'id="signature-status" data-valid="true"' in page.text
    timeline = page.text[page.text.index('id="timeline"'):]
    for step in ("sms_otp: passed", "token.issued", "case.open", "tokens.revoked", "case.read"):
        assert step in timeline, step
    assert "13800138000" not in page.text  # the bundle carries no phone number
    bundle = console.get(f"/cases/{case.case_id}/evidence.jws", params={"purpose": "customer call 42"})
    assert bundle.headers["content-disposition"].startswith("attachment;") and bundle.text.count(".") == 2
    reads = [(e.action, e.purpose, e.actor) for e in audit_actions(running, object_id=case.case_id)]
    assert ("evidence.exported", "customer call 42", "dev-support") in reads
    assert any(purpose == "customer call 42" and actor == "dev-support" for _a, purpose, actor in reads
               if _a.startswith("case."))


def test_the_requester_cannot_approve_their_own_request_through_the_console(running: Running,
                                                                          console: TestClient) -> None:
    reported_case(running)
    csrf = sign_in(console, running, "support", enroll(running, "support"))
    made = console.post("/approvals/request", data={"csrf": csrf, "action": "unfreeze_identity",
                                                    "applicant_id": "acct-1", "reason": "fraud confirmed",
                                                    "back": "/freeze"})
    assert made.status_code == 303
    approval_id = re.search(r"apr_[a-z0-9]+", console.get("/freeze").text).group(0)
    assert approval_id not in console.get("/approvals").text  # the inbox lists other people's requests only
    tried = console.post(f"/approvals/{approval_id}/decide", data={"csrf": csrf, "decision": "approve"})
    assert tried.status_code == 303
    assert "approval_self_approval" in console.get("/approvals").text
    mine = console.get("/approvals?scope=mine").text
    assert approval_id in mine and "execute" not in mine.split(approval_id, 1)[1].split("</tr>", 1)[0]
    status = case_pb2_grpc.CaseServiceStub(running.channel).ListApprovals(
        case_pb2.ListApprovalsRequest(scope="all"), metadata=auditor(running)).approvals
    assert [(a.approval_id, a.status) for a in status] == [(approval_id, "pending")]


def test_audit_search_demands_a_purpose_and_is_itself_audited(running: Running, console: TestClient) -> None:
    sign_in(console, running, "risk_analyst", enroll(running, "risk_analyst"))
    refused = console.get("/audit", params={"purpose": "", "actor": "dev-risk_analyst"})
    assert refused.status_code == 400 and "purpose_missing" in refused.text and 'id="audit-results"' not in refused.text
    found = console.get("/audit", params={"purpose": "insider review 7", "actor": "dev-risk_analyst"})
    assert found.status_code == 200 and "staff.sign_in" in found.text
    searched = audit_actions(running, action="audit.searched", actor="dev-risk_analyst")
    assert [e.purpose for e in searched] == ["insider review 7"]


def test_every_page_is_labelled_and_in_both_languages(running: Running, console: TestClient) -> None:
    case = reported_case(running)
    sign_in(console, running, "admin", enroll(running, "admin"))
    pages = ["/cases", f"/cases/{case.case_id}", f"/cases/{case.case_id}?purpose=review", "/approvals", "/freeze",
             "/audit", "/links"]
    seen: dict[str, str] = {}
    for locale, marker in (("en", "Case queue"), ("zh-CN", "案件队列")):
        console.get("/locale", params={"to": locale, "next": "/cases"})
        for path in pages:
            html = console.get(path).text
            assert f'<html lang="{locale}">' in html and marker in html, (locale, path)
            found = controls_of(html)
            unlabelled = [c for c in found.controls if c.get("id") not in found.labelled]
            assert found.controls or path.startswith("/approvals") or "purpose=" in path, path
            assert unlabelled == [], (locale, path, unlabelled)
            seen[f"{locale}{path}"] = html
    assert seen["en/links"] != seen["zh-CN/links"]
    assert console.get("/locale", params={"to": "en", "next": "//evil.example"}).headers["location"] == "/cases"


def test_signing_out_ends_the_service_session_too(running: Running, console: TestClient) -> None:
    sign_in(console, running, "support", enroll(running, "support"))
    csrf = form_token(console.get("/cases").text)
    assert console.post("/sign-out", data={"csrf": csrf}).headers["location"] == "/sign-in"
    assert console.get("/cases").headers["location"].startswith("/sign-in")
    ended = [e.action for e in audit_actions(running, object_id="dev-support")]
    assert ended[0] == "staff.sign_out"


def test_a_not_fraud_resolution_needs_a_second_staff_member_and_the_requester_carries_it_out(
        running: Running) -> None:
    case = reported_case(running)
    agent, checker = console_client(running), console_client(running)
    csrf = sign_in(agent, running, "support", enroll(running, "support"))
    back = f"/cases/{case.case_id}?purpose=callback"
    agent.post("/approvals/request", data={"csrf": csrf, "action": "resolve_case_not_fraud",
                                           "object_id": case.case_id, "applicant_id": "acct-1",
                                           "reason": "applicant recognised the loan", "back": back})
    approval_id = re.search(r"apr_[a-z0-9]+", agent.get(back).text).group(0)
    # Carrying it out before a second staff member approved is refused by the service.
    agent.post(f"/approvals/{approval_id}/execute", data={"csrf": csrf, "action": "resolve_case_not_fraud",
                                                          "object_id": case.case_id})
    assert "approval_not_approved" in agent.get("/approvals?scope=mine").text
    checker_csrf = sign_in(checker, running, "admin", enroll(running, "admin"))
    assert approval_id in checker.get("/approvals").text
    checker.post(f"/approvals/{approval_id}/decide", data={"csrf": checker_csrf, "decision": "approve"})
    agent.post(f"/approvals/{approval_id}/execute", data={"csrf": csrf, "action": "resolve_case_not_fraud",
                                                          "object_id": case.case_id})
    page = agent.get(back).text
    assert '<dd id="case-state">已结案：非欺诈</dd>' in page  # zh-CN: the default language
    resolved = case_pb2_grpc.CaseServiceStub(running.channel).GetCase(
        case_pb2.GetCaseRequest(case_id=case.case_id, purpose="test check"), metadata=auditor(running)).case
    assert (resolved.state, resolved.outcome, resolved.decided_by) == ("resolved_not_fraud", "no_action", "dev-support")


def test_enrolment_through_the_console_happens_once_and_links_are_for_admins_only(running: Running,
                                                                                 console: TestClient) -> None:
    page = console.get("/enroll")
    done = console.post("/enroll", data={"csrf": form_token(page.text), "api_key": running.keys["support"]})
    assert done.status_code == 200 and "otpauth://totp/" in done.text
    again = console.post("/enroll", data={"csrf": form_token(page.text), "api_key": running.keys["support"]})
    assert again.status_code == 400 and "totp_already_enrolled" in again.text and "otpauth://" not in again.text
    import pyotp

    uri = re.search(r'id="provisioning-uri" class="secret">([^<]+)<', done.text).group(1).replace("&amp;", "&")
    csrf = sign_in(console, running, "support", pyotp.parse_uri(uri))
    console.post("/links", data={"csrf": csrf, "staff_id": "dev-support", "applicants": "acct-1"})
    assert "role_not_allowed" in console.get("/links").text


def test_over_https_the_cookie_is_host_bound_and_secure_and_hsts_is_sent() -> None:
    import grpc

    from idverify.console.service import ServiceClient
    from idverify.console.web import ConsoleConfig, build_app

    channel = grpc.insecure_channel("127.0.0.1:9")  # never called: the sign-in form needs no service
    try:
        client = TestClient(build_app(ServiceClient(channel), config=ConsoleConfig(secure_cookies=True)),
                            base_url="https://console.test")
        page = client.get("/sign-in")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in page.headers["set-cookie"].lower()
        assert ConsoleConfig(secure_cookies=True).session_cookie == "__Host-idv_session"
    finally:
        channel.close()


def test_an_oversized_form_is_refused_before_anything_reads_it(running: Running, console: TestClient) -> None:
    page = console.get("/sign-in")
    huge = console.post("/sign-in", data={"csrf": form_token(page.text), "api_key": "k" * 100_000, "code": "1"})
    assert huge.status_code == 413 and huge.headers["x-content-type-options"] == "nosniff"
