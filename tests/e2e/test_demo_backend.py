"""`idverify demo` without a browser: the demo app backend's JSON API and the loan service against a real idverify.

The browser tests (tests/browser) drive the same API through the capture page; these check the parts a browser
run does not isolate: the page gets no key, refusals carry the service's reason and localised text, a token is
paid out once, the fake-camera mode is refused in production, and static files stay inside their folder.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idverify.config import ConfigError, Settings
from idverify.demo.run import FAKE_CAMERA, Demo, DemoRefused, demo_environment, start_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = start_demo({"IDVERIFY_DOCUMENTS": "off", "IDVERIFY_FACE": "off"}, tmp_path_factory.mktemp("demo"))
    try:
        yield running
    finally:
        running.stop()


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def start_and_pass_sms(demo: Demo, locale: str = "en") -> str:
    status, started = call(demo.url + "api/start", {"phone": "+8613800138000", "amount": "1200.00",
                                                    "consent": True, "locale": locale, "device_id": "test-1"})
    assert status == 200, started
    assert started["required"] == ["sms_otp"]
    handle = started["handle"]
    status, sent = call(demo.url + "api/otp/send", {"handle": handle})
    assert status == 200
    assert len(sent["dev_code"]) == 6
    status, checked = call(demo.url + "api/otp/check", {"handle": handle, "code": sent["dev_code"]})
    assert (status, checked["outcome"]) == (200, "passed")
    return str(handle)


def test_a_verified_loan_is_paid_once_after_offline_verification_and_redemption(demo: Demo) -> None:
    handle = start_and_pass_sms(demo)
    status, done = call(demo.url + "api/complete", {"handle": handle})
    assert status == 200
    assert done["token"].count(".") == 2
    loan = done["loan"]
    assert loan["disbursed"] is True
    assert (loan["offline_verified"], loan["redeemed"], loan["amr"]) == (True, True, ["sms"])
    # The same token presented again: idverify answers the same redemption (idempotent for its caller) and the loan
    # service's ledger refuses to pay it twice.
    status, again = call(demo.loan.url + "/disburse", {"token": done["token"], "loan_application_id":
                                                       loan["loan_application_id"], "amount": "1200.00",
                                                       "currency": "CNY", "payout_account": "6222020000000001"})
    assert status == 409
    assert again["reason"] == "loan_already_paid"


def test_a_token_for_another_payout_account_is_refused_offline(demo: Demo) -> None:
    handle = start_and_pass_sms(demo)
    _, done = call(demo.url + "api/complete", {"handle": handle})
    status, refused = call(demo.loan.url + "/disburse", {"token": done["token"], "loan_application_id": "L-other",
                                                         "amount": "1200.00", "currency": "CNY",
                                                         "payout_account": "6222020000000001"})
    assert status == 403
    assert refused["reason"] == "token_binding_mismatch"


def test_a_wrong_code_is_an_answer_in_the_applicants_language_and_an_unknown_flow_is_refused(demo: Demo) -> None:
    _, started = call(demo.url + "api/start", {"phone": "+8613800138000", "amount": "1200.00", "consent": True,
                                               "locale": "zh-CN", "device_id": "test-2"})
    call(demo.url + "api/otp/send", {"handle": started["handle"]})
    status, wrong = call(demo.url + "api/otp/check", {"handle": started["handle"], "code": "000000"})
    assert (status, wrong["outcome"], wrong["reason_code"]) == (200, "failed", "otp_incorrect")
    assert any(ord(c) > 127 for c in wrong["message"])  # the zh-CN text
    status, unknown = call(demo.url + "api/complete", {"handle": "nope"})
    assert (status, unknown["reason"]) == (404, "flow_unknown")


def test_completing_before_the_factors_passed_gives_the_services_reason_and_text(demo: Demo) -> None:
    _, started = call(demo.url + "api/start", {"phone": "+8613800138000", "amount": "1200.00", "consent": True,
                                               "locale": "en", "device_id": "test-3"})
    status, refused = call(demo.url + "api/complete", {"handle": started["handle"]})
    assert status == 409
    assert refused["reason"] == "factors_incomplete"
    assert refused["message"]


def test_the_page_never_receives_a_key_and_static_files_stay_in_their_folder(demo: Demo, tmp_path: Path) -> None:
    keys = json.loads(json.dumps(__import__("tomllib").loads(
        (demo.app.settings.data_dir / "dev-api-keys.toml").read_text())))
    page = urllib.request.urlopen(demo.url, timeout=10).read().decode()
    script = urllib.request.urlopen(demo.url + "app.js", timeout=10).read().decode()
    _, config = call(demo.url + "api/config")
    for key in keys.values():
        assert key not in page + script + json.dumps(config)
    for path in ("../run.py", "..%2frun.py", "/etc/passwd"):
        status, _ = call(demo.url + path.lstrip("/"))
        assert status == 404


def test_the_demo_and_its_fake_camera_mode_are_refused_in_production() -> None:
    with pytest.raises(DemoRefused):
        demo_environment({"IDVERIFY_ENV": "production"}, Path("var/demo"), fake_camera=False)
    fake = demo_environment({}, Path("var/demo"), fake_camera=True)
    assert fake["IDVERIFY_LIVENESS_TURN_YAW"] == "0.125"
    assert "IDVERIFY_LIVENESS_LIGHT_CHECK" not in fake
    assert set(FAKE_CAMERA) <= set(fake)
    with pytest.raises(ConfigError, match="IDVERIFY_LIVENESS_LIGHT_CHECK"):
        Settings.from_env({"IDVERIFY_ENV": "production", "IDVERIFY_LIVENESS_LIGHT_CHECK": "false",
                           "IDVERIFY_DATA_KEYS": "k1:" + "a" * 43 + "=", "IDVERIFY_INDEX_KEY": "a" * 43 + "=",
                           "IDVERIFY_OTP_KEY": "a" * 43 + "=", "IDVERIFY_PAIRWISE_SECRET": "a" * 43 + "=",
                           "IDVERIFY_AUDIT_KEY": "a" * 43 + "=", "IDVERIFY_SMS_SENDER": "twilio",
                           "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t",
                           "TWILIO_FROM_NUMBER": "+15005550006", "IDVERIFY_API_KEYS": f"app:app_backend:{'a' * 64}"})
