"""How TwilioSmsSender maps Twilio's answers, with a scripted HTTP client (no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response

from idverify.domain.errors import IdVerifyError, InvalidArgument, ResourceExhausted, Unavailable
from idverify.sms.twilio import TwilioSmsSender

ACCOUNT = "AC" + "0123456789abcdef" * 2
TO = "+8613812345678"
BODY = "Code 482913"
CREATED = Response(201, json.dumps({"sid": "SM" + "ab" * 16, "status": "queued"}))


def error(status: int, code: int) -> Response:
    return Response(status, json.dumps({"code": code, "message": f"The 'To' number {TO} is bad", "status": status}))


class ScriptedHttp(HttpClient):  # type: ignore[misc]
    def __init__(self, *answers: Response | Exception) -> None:
        super().__init__(logger=None, is_async=False)
        self.answers = list(answers)
        self.forms: list[dict[str, Any]] = []

    def request(self, method: str, url: str, params: Any = None, data: Any = None, **_: Any) -> Response:
        self.forms.append(dict(data or {}))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def sender(http: ScriptedHttp, sleeps: list[float], **kw: Any) -> TwilioSmsSender:
    return TwilioSmsSender(
        ACCOUNT, "token", from_number="+15005550006", http_client=http, backoff_s=0.5, sleep=sleeps.append, **kw
    )


def test_the_form_carries_to_body_sender_and_callback() -> None:
    http = ScriptedHttp(CREATED)
    sid = sender(http, [], status_callback_url="https://lender.example/cb").send(TO, BODY)
    assert sid == "SM" + "ab" * 16
    assert http.forms == [{"To": TO, "Body": BODY, "From": "+15005550006", "StatusCallback": "https://lender.example/cb"}]


def test_server_errors_and_timeouts_are_retried_with_growing_backoff() -> None:
    sleeps: list[float] = []
    http = ScriptedHttp(error(503, 20500), requests.Timeout("read timed out"), CREATED)
    assert sender(http, sleeps).send(TO, BODY).startswith("SM")
    assert sleeps == [0.5, 1.0]


def test_after_the_retries_the_provider_is_unavailable() -> None:
    sleeps: list[float] = []
    http = ScriptedHttp(error(500, 20500), requests.ConnectionError("refused"), error(502, 20500))
    with pytest.raises(Unavailable) as err:
        sender(http, sleeps, max_retries=2).send(TO, BODY)
    assert err.value.code == "sms_unavailable"
    assert len(http.forms) == 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    ("status", "code", "category", "reason"),
    [
        (400, 21211, InvalidArgument, "phone_invalid"),
        (400, 21614, InvalidArgument, "phone_invalid"),
        (400, 21408, InvalidArgument, "phone_country_not_allowed"),
        (429, 20429, ResourceExhausted, "sms_rate_limited"),
        (401, 20003, Unavailable, "sms_misconfigured"),
    ],
)
def test_refusals_map_to_reason_codes_without_retrying_or_leaking(
    status: int, code: int, category: type[IdVerifyError], reason: str
) -> None:
    http = ScriptedHttp(error(status, code))
    with pytest.raises(category) as err:
        sender(http, []).send(TO, BODY)
    assert err.value.code == reason
    assert len(http.forms) == 1
    shown = f"{err.value} {err.value.message} {err.value.internal_reason} {err.value!r}"
    assert TO not in shown
    assert "482913" not in shown
    assert "token" not in shown


def test_constructor_insists_on_one_credential_and_one_origin() -> None:
    with pytest.raises(ValueError):
        TwilioSmsSender(ACCOUNT, from_number="+15005550006")
    with pytest.raises(ValueError):
        TwilioSmsSender(ACCOUNT, "token")
    with pytest.raises(ValueError):
        TwilioSmsSender(ACCOUNT, "token", from_number="+1", messaging_service_sid="MG1")
    assert "token" not in repr(TwilioSmsSender(ACCOUNT, "token", from_number="+15005550006"))
