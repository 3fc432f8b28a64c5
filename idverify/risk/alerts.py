"""Where risk alerts go: a log sink and a signed webhook sink.

Webhook requests are ``POST`` with a JSON body and two headers: ``X-Idverify-Timestamp`` (Unix seconds) and
``X-Idverify-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>``. Receivers check both with
:func:`verify_webhook_signature` and refuse stale timestamps, so a captured request cannot be replayed later.
Alerts carry the session id, reason codes and score, never an identifier of the applicant.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from idverify.domain.errors import InvalidArgument, Unavailable
from idverify.domain.ports import Clock

SIGNATURE_HEADER = "X-Idverify-Signature"
TIMESTAMP_HEADER = "X-Idverify-Timestamp"


@dataclass(frozen=True, slots=True)
class Alert:
    at: str
    tenant: str
    session_id: str
    stage: str
    outcome: str
    score: int
    reason_codes: tuple[str, ...]

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")


class AlertSink(Protocol):
    def send(self, alert: Alert) -> None: ...


class LogAlertSink:
    """Writes each alert as one structured log record (logger ``idverify.risk.alerts``, level WARNING)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger("idverify.risk.alerts")

    def send(self, alert: Alert) -> None:
        self._logger.warning("risk_alert", extra={"risk_alert": asdict(alert)})


def sign_webhook(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_webhook_signature(
    secret: bytes, *, body: bytes, timestamp: str, signature: str, now: datetime, tolerance_s: int = 300
) -> None:
    """For receivers. Raises ``InvalidArgument("webhook_timestamp_invalid" | "webhook_timestamp_stale" |
    "webhook_signature_invalid")``."""
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise InvalidArgument("webhook_timestamp_invalid", "timestamp header is not an integer") from exc
    if abs(now.timestamp() - ts) > tolerance_s:
        raise InvalidArgument("webhook_timestamp_stale", "timestamp outside the tolerance")
    if not hmac.compare_digest(sign_webhook(secret, ts, body), signature):
        raise InvalidArgument("webhook_signature_invalid", "signature does not match")


class WebhookAlertSink:
    """POSTs each alert to ``url`` with an HMAC-SHA256 signature. Raises ``Unavailable("risk_webhook_failed")``
    when the receiver cannot be reached or answers other than 2xx."""

    def __init__(self, url: str, secret: bytes, clock: Clock, *, timeout_s: float = 2.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise InvalidArgument("risk_webhook_url_invalid", "the webhook URL must be http(s)")
        if len(secret) < 16:
            raise InvalidArgument("risk_webhook_secret_invalid", "the webhook secret needs at least 16 bytes")
        self._url = url
        self._secret = bytes(secret)
        self._clock = clock
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return f"WebhookAlertSink(url={self._url!r}, secret=<redacted>)"

    def send(self, alert: Alert) -> None:
        self.post(alert.to_json())

    def send_event(self, event: Mapping[str, object]) -> None:
        """POST any JSON event (e.g. a dispute case opened) with the same signature scheme."""
        self.post(json.dumps(dict(event), sort_keys=True, separators=(",", ":")).encode())

    def post(self, body: bytes) -> None:
        timestamp = int(self._clock.now().timestamp())
        request = urllib.request.Request(  # noqa: S310 - the constructor admits http(s) URLs only
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign_webhook(self._secret, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - http(s) only
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise Unavailable("risk_webhook_failed", "the alert webhook could not be reached") from exc
        if not 200 <= status < 300:
            raise Unavailable("risk_webhook_failed", f"the alert webhook answered HTTP {status}")
