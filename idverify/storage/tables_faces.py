"""Face data: liveness challenges, the short-lived per-session selfie and document-portrait templates, and the
account holder's enrolled template. Templates are sealed (AES-GCM); raw images are never stored."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table, Text

from idverify.storage.schema import UtcDateTime, metadata

liveness_challenges = Table(
    "liveness_challenges",
    metadata,
    Column("challenge_id", String(40), primary_key=True),
    Column("session_id", String(40), ForeignKey("verification_sessions.session_id"), nullable=False, index=True),
    Column("nonce", String(64), nullable=False),
    Column("poses", Text, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("deadline", UtcDateTime(), nullable=False),
    # open -> submitted: a challenge is answered once; a replayed stream finds it used.
    Column("status", String(16), nullable=False),
)

session_faces = Table(
    "session_faces",
    metadata,
    Column("session_id", String(40), ForeignKey("verification_sessions.session_id"), primary_key=True),
    Column("selfie_sealed", LargeBinary, nullable=True),
    Column("selfie_model_id", String(64), nullable=False, server_default=""),
    Column("portrait_sealed", LargeBinary, nullable=True),
    Column("portrait_model_id", String(64), nullable=False, server_default=""),
    # Deleted by the retention job after this time; they only serve the session's own matches and enrolment.
    Column("expires_at", UtcDateTime(), nullable=False),
)

face_templates = Table(
    "face_templates",
    metadata,
    Column("applicant_id", String(128), primary_key=True),
    Column("template_id", String(40), nullable=False, unique=True),
    Column("template_sealed", LargeBinary, nullable=False),
    Column("model_id", String(64), nullable=False),
    Column("enrolled_at", UtcDateTime(), nullable=False),
    Column("session_id", String(40), nullable=False),
    Column("consent_text_version", String(64), nullable=False),
)
