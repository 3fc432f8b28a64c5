"""The transactional outbox: side effects (SMS, webhooks, alerts) written in the transaction that caused them and
delivered after it commits (``idverify.outbox``).

An SMS row's ``payload`` is sealed with the field cipher (it holds a phone number and, for codes, the code) and is
cleared once the message is delivered or dead-lettered. Webhook payloads carry no personal data and are kept as
sent, so a lender can be told exactly what went out under a message id.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, LargeBinary, String, Table

from idverify.storage.schema import UtcDateTime, metadata

outbox_messages = Table(
    "outbox_messages",
    metadata,
    # The stable message id: the webhook-id header of every attempt, the SMS's idempotency reference.
    Column("message_id", String(40), primary_key=True),
    Column("channel", String(16), nullable=False),  # "sms" | "webhook" | "log"
    Column("event_type", String(64), nullable=False),  # "otp.code", "risk.alert", "case.opened", ...
    Column("endpoint", String(32), nullable=False),  # which configured receiver ("risk", "case"); "" for sms
    Column("payload", LargeBinary(), nullable=True),  # NULL once a sealed payload was delivered or dead-lettered
    Column("sealed", Boolean(), nullable=False),
    Column("status", String(16), nullable=False),  # "pending" | "delivered" | "dead"
    Column("attempts", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # When the row may be claimed next: its backoff after a failure, or the end of a claim's lease.
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),  # past it the message is worthless (an expired code)
    Column("claim_token", String(32), nullable=True),
    Column("last_error", String(64), nullable=False),  # a reason code, never a response body
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("provider_id", String(64), nullable=False),
)

Index("ix_outbox_messages_status_next", outbox_messages.c.status, outbox_messages.c.next_attempt_at)
