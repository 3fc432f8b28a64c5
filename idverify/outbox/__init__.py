"""The transactional outbox: side effects written in the request's transaction, delivered after it commits.

``storage.sql_outbox`` writes rows (``uow.outbox``); :mod:`idverify.outbox.queue` claims them with a lease;
:mod:`idverify.outbox.dispatcher` delivers them with retries, backoff and dead letters through the channels of
:mod:`idverify.outbox.deliveries` (Standard Webhooks, SMS, log); :mod:`idverify.outbox.writers` adapts the ports
that predate it (``SmsSender``, ``AlertSink``, the case notifier). Lenders' view: docs/webhooks.md.
"""

from idverify.outbox.deliveries import (
    Delivery,
    DeliveryFailed,
    LogDelivery,
    SmsDelivery,
    StandardWebhookDelivery,
    webhook_signing_key,
)
from idverify.outbox.dispatcher import OutboxDispatcher, RetryPolicy
from idverify.outbox.queue import ClaimedMessage, OutboxRecord, QueueDepth, SqlOutboxQueue
from idverify.outbox.writers import QueuedAlertSink, QueuedCaseNotifier, QueuedSmsSender

__all__ = [
    "ClaimedMessage",
    "Delivery",
    "DeliveryFailed",
    "LogDelivery",
    "OutboxDispatcher",
    "OutboxRecord",
    "QueueDepth",
    "QueuedAlertSink",
    "QueuedCaseNotifier",
    "QueuedSmsSender",
    "RetryPolicy",
    "SmsDelivery",
    "SqlOutboxQueue",
    "StandardWebhookDelivery",
    "webhook_signing_key",
]
