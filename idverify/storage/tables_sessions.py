"""Verification sessions, their factor results and issued tokens."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.types import Float

from idverify.storage.schema import UtcDateTime, metadata

OPEN_STATUSES = ("created", "in_progress")

verification_sessions = Table(
    "verification_sessions",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("reference", String(16), nullable=False, unique=True),
    Column("applicant_id", String(128), nullable=False),
    Column("loan_application_id", String(128), nullable=False),
    Column("amount", Numeric(17, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("device_id", String(128), nullable=False, server_default=""),
    Column("client_ip", String(64), nullable=False, server_default=""),
    Column("locale", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("required_factors", Text, nullable=False),
    Column("reason_code", String(64), nullable=False, server_default=""),
    Column("risk_score", Integer, nullable=False, server_default="0"),
    Column("risk_reasons", Text, nullable=False, server_default=""),
    Column("risk_decision", String(16), nullable=False, server_default="allow"),
    Column("first_loan", Boolean, nullable=False, server_default=text("false")),
    Column("phone_recently_changed", Boolean, nullable=False, server_default=text("false")),
    Column("biometric_consent", Boolean, nullable=False, server_default=text("false")),
    Column("consent_text_version", String(64), nullable=False, server_default=""),
    # Personal data, sealed with the field protector (AES-GCM); the aad binds each value to its row and column.
    Column("phone_sealed", LargeBinary, nullable=True),
    Column("payout_account_sealed", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
)

Index(
    "uq_open_session_per_application",
    verification_sessions.c.applicant_id,
    verification_sessions.c.loan_application_id,
    unique=True,
    sqlite_where=verification_sessions.c.status.in_(OPEN_STATUSES),
    postgresql_where=verification_sessions.c.status.in_(OPEN_STATUSES),
)
Index("ix_sessions_applicant", verification_sessions.c.applicant_id, verification_sessions.c.created_at)

factor_results = Table(
    "factor_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(40), ForeignKey("verification_sessions.session_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("factor", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("score", Float, nullable=False, server_default="0"),
    Column("threshold", Float, nullable=False, server_default="0"),
    Column("model_id", String(64), nullable=False, server_default=""),
    Column("pad_ran", Boolean, nullable=False, server_default=text("false")),
    # For a passed liveness: the evidence that ran, comma-separated (migration 0007).
    Column("evidence", String(128), nullable=False, server_default=""),
)
Index("uq_factor_results_session_seq", factor_results.c.session_id, factor_results.c.seq, unique=True)

issued_tokens = Table(
    "issued_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("session_id", String(40), ForeignKey("verification_sessions.session_id"), nullable=False),
    Column("applicant_id", String(128), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("redeemed_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revoke_reason", String(64), nullable=False, server_default=""),
    # Who redeemed it and the redemption's id: a retry by the same caller is answered with the original success.
    Column("redemption_id", String(40), nullable=True),
    Column("redeemed_by", String(128), nullable=True),
)
Index("ix_issued_tokens_applicant", issued_tokens.c.applicant_id)
Index("ix_issued_tokens_session", issued_tokens.c.session_id)
