"""Tables of the one-time-code factors (SMS codes, TOTP) and their shared counters.

No phone number, code or TOTP secret is stored in the clear: codes as keyed digests, phones as a keyed blind index
plus a masked form, counter keys as keyed hashes, TOTP secrets sealed with AES-GCM.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
)

from idverify.storage.schema import UtcDateTime, metadata

otp_challenges = Table(
    "otp_challenges",
    metadata,
    Column("challenge_id", String(64), primary_key=True),
    Column("session_id", String(128), nullable=False),
    Column("applicant_id", String(128), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("context_digest", LargeBinary(32), nullable=False),
    Column("code_digest", LargeBinary(32), nullable=False),
    Column("phone_hash", LargeBinary(32), nullable=False),
    Column("phone_masked", String(24), nullable=False),
    Column("provider_message_id", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("sent_seq", BigInteger, nullable=True),
    Column("used_at", UtcDateTime(), nullable=True),
    Index("ix_otp_challenges_session_seq", "session_id", "sent_seq"),
    Index("ix_otp_challenges_phone_hash", "phone_hash"),
)
"""One row per code. ``sent_seq`` orders the codes of a session that reached the provider."""

otp_counters = Table(
    "otp_counters",
    metadata,
    Column("key", String(80), nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("key", "window_start"),
    Index("ix_otp_counters_expires_at", "expires_at"),
)
"""Fixed-window counters, upserted atomically (INSERT .. ON CONFLICT DO UPDATE .. RETURNING count)."""

otp_cooldowns = Table(
    "otp_cooldowns",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("until", UtcDateTime(), nullable=False),
)
"""Exclusive cool-downs (resend): taken only when the previous one has ended."""

otp_lockouts = Table(
    "otp_lockouts",
    metadata,
    Column("subject", String(160), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=True),
)
"""Consecutive failed guesses per applicant across sessions and factors."""

totp_credentials = Table(
    "totp_credentials",
    metadata,
    Column("applicant_id", String(128), primary_key=True),
    Column("sealed_secret", LargeBinary(128), nullable=False),
    Column("digits", Integer, nullable=False),
    Column("period_s", Integer, nullable=False),
    Column("algorithm", String(8), nullable=False),
    Column("last_counter", BigInteger, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""One TOTP authenticator per applicant; ``last_counter`` is the last accepted time step (replay guard)."""
