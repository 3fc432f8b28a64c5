"""Outgoing messages: the SMS sender and the outbox dispatcher with its deliveries.

Part of the composition root (``idverify.app``): only it imports this module.
"""

from __future__ import annotations

from sqlalchemy import Engine

from idverify.config import Settings
from idverify.domain.ports import Clock, Random
from idverify.factors.otp import SmsSender
from idverify.outbox import (
    Delivery,
    LogDelivery,
    OutboxDispatcher,
    RetryPolicy,
    SmsDelivery,
    SqlOutboxQueue,
    StandardWebhookDelivery,
)
from idverify.privacy.sealing import SealedFields
from idverify.sms.outbox import OutboxSmsSender


def build_sms_sender(settings: Settings, clock: Clock, random: Random) -> SmsSender:
    if settings.sms_sender == "outbox":
        settings.sms_outbox_file.parent.mkdir(parents=True, exist_ok=True)
        return OutboxSmsSender(settings.sms_outbox_file, clock=clock, random=random)
    from idverify.sms.twilio import TwilioSmsSender  # twilio's client and requests: only when used

    return TwilioSmsSender(
        settings.twilio_account_sid,
        settings.twilio_auth_token.reveal().decode() if settings.twilio_auth_token else None,
        api_key_sid=settings.twilio_api_key_sid or None,
        api_key_secret=settings.twilio_api_key_secret.reveal().decode() if settings.twilio_api_key_secret else None,
        from_number=settings.twilio_from_number or None,
        messaging_service_sid=settings.twilio_messaging_service_sid or None,
        status_callback_url=settings.twilio_status_callback_url or None,
    )


def build_outbox(settings: Settings, engine: Engine, protector: SealedFields, clock: Clock,
                 random: Random) -> OutboxDispatcher:
    """The dispatcher that delivers what requests committed to the outbox: SMS through the configured sender,
    signed webhooks to the risk and case receivers, log lines where no receiver is configured."""
    deliveries: dict[str, Delivery] = {"sms": SmsDelivery(build_sms_sender(settings, clock, random), protector),
                                       "log": LogDelivery()}
    urls = {name: url for name, url in (("risk", settings.risk_webhook_url), ("case", settings.case_webhook_url),
                                        ("audit", settings.audit_webhook_url)) if url}
    if urls:
        assert settings.webhook_secret is not None  # Settings refuses a webhook URL without it
        deliveries["webhook"] = StandardWebhookDelivery(urls, settings.webhook_secret.reveal(), clock,
                                                        timeout_s=settings.webhook_timeout_s)
    retry = RetryPolicy(max_attempts=settings.outbox_max_attempts, base_s=settings.outbox_backoff_s,
                        max_s=settings.outbox_backoff_max_s)
    # The lease outlasts any one delivery (the webhook timeout, an SMS provider call), so a live claim never ends.
    return OutboxDispatcher(SqlOutboxQueue(engine), deliveries, clock=clock, random=random, retry=retry,
                            workers=settings.outbox_workers, poll_s=settings.outbox_poll_s,
                            lease_s=max(60.0, 4 * settings.webhook_timeout_s))

