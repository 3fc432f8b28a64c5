"""What a liveness challenge declared beyond its poses (issue 20): the screen-colour sequence, the mirrored flag,
the capture key and the attestation verdict. No personal data: colours, a per-capture public key, a verdict."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, String, Table, Text

from idverify.storage.schema import UtcDateTime, metadata

liveness_captures = Table(
    "liveness_captures",
    metadata,
    Column("challenge_id", String(40), primary_key=True),
    Column("session_id", String(40), nullable=False, index=True),
    # JSON list of [rgb, duration_ms].
    Column("light", Text, nullable=False),
    Column("mirrored", Boolean, nullable=False),
    Column("capture_key", Text, nullable=True),
    # "genuine", "failed" or NULL (none presented, or not judged).
    Column("attestation", String(16), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=False),
)
