"""Contract tests: the real twilio client, driven by TwilioSmsSender, against Prism serving Twilio's own spec."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from idverify.domain.errors import ResourceExhausted, Unavailable
from idverify.factors.messages_otp import code_text
from idverify.sms.twilio import TwilioSmsSender
from tests.adapters.sms.prism_http import PrismHttpClient, RefusedHost

ACCOUNT = "AC" + "0123456789abcdef" * 2
SERVICE = "MG" + "fedcba9876543210" * 2
API_KEY = "SK" + "00112233445566778899aabbccddeeff"
TO = "+8613812345678"
BODY = code_text("zh-CN", "482913", "安心贷", Decimal("12000"), "CNY", 5)


def test_our_send_request_is_valid_by_twilios_spec(prism_url: str) -> None:
    http = PrismHttpClient(prism_url)
    sender = TwilioSmsSender(
        ACCOUNT, "auth-token", from_number="+15005550006",
        status_callback_url="https://lender.example/twilio/status", http_client=http,
    )
    sid = sender.send(TO, BODY)
    assert re.fullmatch(r"SM[0-9a-fA-F]{32}", sid)
    assert http._test_only_last_response.status_code == 201
    assert http.requests == [("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")]


def test_api_key_and_messaging_service_variant_is_valid_too(prism_url: str) -> None:
    http = PrismHttpClient(prism_url)
    sender = TwilioSmsSender(
        ACCOUNT, api_key_sid=API_KEY, api_key_secret="secret", messaging_service_sid=SERVICE, http_client=http
    )
    assert sender.send(TO, BODY).startswith("SM")
    assert http._test_only_last_response.status_code == 201


def test_the_mock_answers_a_message_instance_that_parses(prism_url: str) -> None:
    client = Client("user", "token", ACCOUNT, http_client=PrismHttpClient(prism_url))
    message = client.messages.create(to=TO, from_="+15005550006", body=BODY)
    assert isinstance(message, MessageInstance)
    assert isinstance(message.date_created, datetime)
    assert message.status is not None


def test_a_request_that_breaks_the_spec_is_rejected(prism_url: str) -> None:
    """Proves the mock validates: a malformed AccountSid and a missing To are refused with 422."""
    client = Client("user", "token", "ACnot-a-real-sid", http_client=PrismHttpClient(prism_url))
    with pytest.raises(TwilioRestException) as bad_sid:
        client.messages.create(to=TO, from_="+15005550006", body="x")
    assert bad_sid.value.status == 422
    http = PrismHttpClient(prism_url)
    response = http.request(
        "POST", f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"From": "+15005550006", "Body": "x"}, auth=("user", "token"),
    )
    assert response.status_code == 422
    assert "To" in response.text
    http = PrismHttpClient(prism_url)
    sender = TwilioSmsSender("ACnot-a-real-sid", "t", from_number="+15005550006", http_client=http)
    with pytest.raises(Unavailable) as err:
        sender.send(TO, BODY)
    assert err.value.code == "sms_misconfigured"
    assert TO not in str(err.value)
    assert "482913" not in str(err.value)


def test_twilios_429_is_mapped_to_sms_rate_limited(prism_url: str) -> None:
    http = PrismHttpClient(prism_url, extra_headers={"Prefer": "code=429"})
    sender = TwilioSmsSender(ACCOUNT, "auth-token", from_number="+15005550006", http_client=http)
    with pytest.raises(ResourceExhausted) as err:
        sender.send(TO, BODY)
    assert err.value.code == "sms_rate_limited"
    assert http._test_only_last_response.status_code == 429
    assert len(http.requests) == 1  # not retried


def test_a_host_other_than_api_twilio_com_is_refused(prism_url: str) -> None:
    http = PrismHttpClient(prism_url)
    client = Client("user", "token", ACCOUNT, region="au1", edge="sydney", http_client=http)
    with pytest.raises(RefusedHost):
        client.messages.create(to=TO, from_="+15005550006", body="x")
    with pytest.raises(RefusedHost):
        http.request("GET", "http://api.twilio.com/2010-04-01/Accounts.json")
    assert http.requests == []
