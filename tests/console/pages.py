"""Helpers for driving the console in tests: a reported case, and signed-in console clients."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pyotp
from starlette.testclient import TestClient

from idverify.api.v1 import case_pb2, case_pb2_grpc, verification_pb2_grpc
from idverify.api.v1 import verification_pb2 as V
from idverify.console.service import ServiceClient
from idverify.console.web import build_app
from tests.console.conftest import code_at
from tests.transport.conftest import Running
from tests.transport.test_server import context
from tests.transport.test_verification_flow import open_and_pass_otp


def reported_case(running: Running) -> case_pb2.Case:
    """A completed verification of acct-1, reported by the applicant through the lender's app."""
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = open_and_pass_otp(running, stub)
    done = stub.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                     metadata=running.md())
    return case_pb2_grpc.CaseServiceStub(running.channel).ReportUnauthorizedApplication(
        case_pb2.ReportUnauthorizedApplicationRequest(applicant_id="acct-1", reference=done.verification.reference,
                                                      description="I never applied"), metadata=running.md()).case


def console_client(running: Running) -> TestClient:
    return TestClient(build_app(ServiceClient(running.channel)), follow_redirects=False)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, running: Running, role: str, totp: pyotp.TOTP, step: int = 0) -> str:
    """Sign the client in as ``dev-<role>``; returns the session's CSRF token."""
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"csrf": form_token(page.text), "api_key": running.keys[role],
                                             "code": code_at(totp, step)})
    assert response.status_code == 303 and response.headers["location"] == "/cases", response.text
    return form_token(client.get("/cases").text)


class Controls(HTMLParser):
    """Every form control of a page, and the ``for`` targets of its labels."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.inline_script = False
        self.style_attributes = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.controls.append({"tag": tag, **values})
        if tag == "label" and values.get("for"):
            self.labelled.add(str(values["for"]))
        if tag == "script" and not values.get("src"):
            self.inline_script = True
        if "style" in values or tag == "style":
            self.style_attributes += 1
        if any(name.startswith("on") for name in values):
            self.inline_script = True


def controls_of(html: str) -> Controls:
    parser = Controls()
    parser.feed(html)
    return parser
