"""Device keys a person registered, the per-verification device-proof nonces and proofs, and SIM-swap evidence."""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, String, Table, Text

from idverify.storage.schema import UtcDateTime, metadata

device_keys = Table(
    "device_keys",
    metadata,
    # RFC 7638 thumbprint of the public key: one key belongs to one person.
    Column("key_id", String(64), primary_key=True),
    Column("applicant_id", String(128), nullable=False),
    Column("algorithm", String(16), nullable=False),
    # The public JWK (no private members); public keys are not personal data.
    Column("jwk", Text, nullable=False),
    Column("label", String(64), nullable=False, server_default=""),
    # Keyed blind index of the app's device id (equality lookups only) and its last characters for display.
    Column("device_index", String(64), nullable=False),
    Column("device_hint", String(16), nullable=False, server_default=""),
    # The phone of the registering verification, sealed: where notices about this person's devices go.
    Column("phone_sealed", LargeBinary, nullable=True),
    Column("registered_at", UtcDateTime(), nullable=False),
    Column("registered_by_session", String(40), nullable=False, unique=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
)
Index("ix_device_keys_applicant", device_keys.c.applicant_id, device_keys.c.registered_at)

device_proofs = Table(
    "device_proofs",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("nonce", String(64), nullable=False),
    Column("key_id", String(64), nullable=True),
    Column("proved_at", UtcDateTime(), nullable=True),
)

phone_changes = Table(
    "phone_changes",
    metadata,
    Column("session_id", String(40), primary_key=True),
    # "lender" or "carrier:<adapter>".
    Column("source", String(64), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=True),
)
