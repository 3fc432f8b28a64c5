"""How each outbox channel leaves the process: signed webhooks, SMS through the configured sender, log lines.

A delivery returns the provider's id (may be empty) or raises :class:`DeliveryFailed` with a reason code; the
dispatcher decides about retries. Reasons are short codes ("webhook_http_503", "webhook_timeout"), never a
response body, a phone number or a text.

Webhooks follow the Standard Webhooks specification (https://www.standardwebhooks.com): headers ``webhook-id`` (the
outbox message id, the same on every attempt, so receivers deduplicate on it), ``webhook-timestamp`` (Unix seconds
of this attempt) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``), signed with the
``standardwebhooks`` library so any receiver can verify them with the same library in its own language.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Protocol

import structlog
from standardwebhooks import Webhook

from idverify.domain.errors import FailedPrecondition, IdVerifyError, InvalidArgument
from idverify.domain.ports import Clock, FieldProtector
from idverify.factors.otp import SmsSender
from idverify.outbox.queue import ClaimedMessage
from idverify.storage.sql_outbox import sealing_aad

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of the secret format, not a secret
USER_AGENT = "idverify-webhooks/1"


class DeliveryFailed(Exception):
    """A delivery attempt did not succeed. ``retryable=False`` dead-letters the message at once."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Delivery(Protocol):
    def deliver(self, message: ClaimedMessage) -> str: ...


def webhook_signing_key(secret: bytes) -> bytes:
    """``IDVERIFY_WEBHOOK_SECRET`` as key bytes: ``whsec_<base64>`` (the Standard Webhooks form), else the raw text.

    Raises ``InvalidArgument("webhook_secret_invalid")`` when it is too short or its base64 does not decode.
    """
    if secret.startswith(SECRET_PREFIX.encode()):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgument("webhook_secret_invalid", "whsec_ secrets must be base64") from None
    else:
        key = bytes(secret)
    if len(key) < 16:
        raise InvalidArgument("webhook_secret_invalid", "the webhook secret needs at least 16 bytes")
    return key


class StandardWebhookDelivery:
    """POSTs webhook rows to the URL configured for their ``endpoint``, signed per Standard Webhooks."""

    def __init__(self, urls: Mapping[str, str], secret: bytes, clock: Clock, *, timeout_s: float = 5.0) -> None:
        for url in urls.values():
            if not url.startswith(("https://", "http://")):
                raise InvalidArgument("webhook_url_invalid", "webhook URLs must be http(s)")
        self._urls = dict(urls)
        self._signer = Webhook(webhook_signing_key(secret))
        self._clock = clock
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return f"StandardWebhookDelivery(endpoints={sorted(self._urls)!r}, secret=<redacted>)"

    def headers(self, message_id: str, body: bytes) -> dict[str, str]:
        """The signed headers of one attempt (the timestamp is now, the id is the message's)."""
        now = self._clock.now()
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(message_id, now, body.decode("utf-8")),
        }

    def deliver(self, message: ClaimedMessage) -> str:
        url = self._urls.get(message.endpoint)
        if url is None:
            raise DeliveryFailed("webhook_endpoint_unknown", retryable=False)
        if message.payload is None:
            raise DeliveryFailed("payload_missing", retryable=False)
        request = urllib.request.Request(  # noqa: S310 - the constructor admits http(s) URLs only
            url, data=message.payload, method="POST", headers=self.headers(message.message_id, message.payload))
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - http(s) only
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except TimeoutError:
            raise DeliveryFailed("webhook_timeout") from None
        except urllib.error.URLError as exc:
            timed_out = isinstance(exc.reason, TimeoutError)
            raise DeliveryFailed("webhook_timeout" if timed_out else "webhook_unreachable") from None
        except OSError:
            raise DeliveryFailed("webhook_unreachable") from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"webhook_http_{status}")
        return ""


class SmsDelivery:
    """Opens a sealed SMS row and hands it to the configured sender (Twilio, or the development file)."""

    def __init__(self, sender: SmsSender, protector: FieldProtector) -> None:
        self._sender = sender
        self._protector = protector

    def deliver(self, message: ClaimedMessage) -> str:
        if message.payload is None:
            raise DeliveryFailed("payload_missing", retryable=False)
        try:
            fields = json.loads(self._protector.unseal(message.payload, sealing_aad(message.message_id)))
        except IdVerifyError:
            raise DeliveryFailed("payload_unreadable", retryable=False) from None
        try:
            return self._sender.send(str(fields["to"]), str(fields["body"]))
        except (InvalidArgument, FailedPrecondition) as exc:  # the number or the text is wrong: retrying won't help
            raise DeliveryFailed(exc.code, retryable=False) from None
        except IdVerifyError as exc:
            raise DeliveryFailed(exc.code) from None


class LogDelivery:
    """Writes the message as one structured log line (level WARNING, logger ``idverify.<area>`` from the event
    type, e.g. ``idverify.risk`` for ``risk.alert``) with the event's fields at the top level.

    Used where no receiver is configured: the event is logged after the commit, with its content.
    """

    def deliver(self, message: ClaimedMessage) -> str:
        if message.payload is None:
            raise DeliveryFailed("payload_missing", retryable=False)
        envelope = json.loads(message.payload)
        event_type = str(envelope["type"])
        fields = {k: v for k, v in envelope["data"].items() if k != "event"}
        logger = structlog.get_logger("idverify." + event_type.split(".", 1)[0])
        logger.warning(event_type.replace(".", "_"), message_id=message.message_id, **fields)
        return ""
