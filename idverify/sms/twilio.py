"""Sending SMS through Twilio's Messages API with the official ``twilio`` client.

Failures become the service's errors: a number Twilio refuses -> InvalidArgument(``phone_invalid``) or
(``phone_country_not_allowed``); Twilio's rate limit -> ResourceExhausted(``sms_rate_limited``); 5xx, timeouts and
connection errors are retried with exponential backoff, then Unavailable(``sms_unavailable``); anything else Twilio
refuses (credentials, sender) is a deployment fault, Unavailable(``sms_misconfigured``). Retrying a timed-out request
may deliver the same text twice; the text is identical, so that is harmless. Numbers and bodies never reach errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from idverify.domain.errors import InvalidArgument, ResourceExhausted, Unavailable

# https://www.twilio.com/docs/api/errors
_PHONE_INVALID = frozenset({21211, 21214, 21217, 21401, 21407, 21421, 21610, 21612, 21614})
_COUNTRY_NOT_ALLOWED = frozenset({21408})
_RATE_LIMITED = frozenset({20429, 14107})


class TwilioSmsSender:
    """Satisfies ``otp.SmsSender``. Authenticate with an auth token or (better) an API key; send from a number or
    (better) a Messaging Service."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str | None = None,
        *,
        api_key_sid: str | None = None,
        api_key_secret: str | None = None,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback_url: str | None = None,
        http_client: HttpClient | None = None,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if (auth_token is None) == (api_key_sid is None or api_key_secret is None):
            raise ValueError("give either auth_token or both api_key_sid and api_key_secret")
        if (from_number is None) == (messaging_service_sid is None):
            raise ValueError("give exactly one of from_number and messaging_service_sid")
        if max_retries < 0 or backoff_s < 0:
            raise ValueError("max_retries and backoff_s must be >= 0")
        username, password = (account_sid, auth_token) if auth_token is not None else (api_key_sid, api_key_secret)
        self._client = Client(
            username,
            password,
            account_sid=account_sid,
            http_client=http_client or TwilioHttpClient(timeout=timeout_s),
        )
        self._origin: dict[str, str] = (
            {"from_": from_number} if from_number is not None else {"messaging_service_sid": str(messaging_service_sid)}
        )
        self._status_callback = status_callback_url
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._sleep = sleep

    def __repr__(self) -> str:
        return "TwilioSmsSender(credentials=***)"

    def send(self, to_e164: str, body: str) -> str:
        params: dict[str, Any] = {"to": to_e164, "body": body, **self._origin}
        if self._status_callback:
            params["status_callback"] = self._status_callback
        last = "no attempt"
        for attempt in range(self._max_retries + 1):
            if attempt:
                self._sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                message = self._client.messages.create(**params)
            except TwilioRestException as exc:
                _raise_unless_retryable(exc)
                last = f"twilio status {exc.status} code {exc.code}"
            except (OSError, TwilioException) as exc:  # requests' timeouts and connection errors are OSErrors
                last = f"{type(exc).__name__}"
            else:
                if not message.sid:
                    raise Unavailable("sms_unavailable", "the SMS provider gave no message id")
                return str(message.sid)
        raise Unavailable(
            "sms_unavailable", "the SMS provider is not answering; try again later", internal_reason=last
        )


def _raise_unless_retryable(exc: TwilioRestException) -> None:
    reason = f"twilio status {exc.status} code {exc.code}"
    if exc.status == 429 or exc.code in _RATE_LIMITED:
        raise ResourceExhausted(
            "sms_rate_limited", "too many messages; try again shortly", retry_after_s=1.0, internal_reason=reason
        ) from None
    if exc.code in _COUNTRY_NOT_ALLOWED:
        raise InvalidArgument(
            "phone_country_not_allowed", "codes cannot be sent to this country", internal_reason=reason
        ) from None
    if exc.code in _PHONE_INVALID:
        raise InvalidArgument("phone_invalid", "this phone number cannot receive SMS", internal_reason=reason) from None
    if exc.status >= 500:
        return
    raise Unavailable(
        "sms_misconfigured", "the SMS provider refused the request", internal_reason=reason
    ) from None
