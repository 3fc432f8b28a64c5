"""Dispute cases, identity freezes, maker-checker approvals and staff conflict-of-interest declarations.

Applicants appear by the lender's opaque ``applicant_id`` and by blind indexes; the free-text description an
applicant writes is stored encrypted (``description_enc``, AES-GCM via ``idverify.privacy.FieldCipher``).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, Text

from idverify.storage.schema import UtcDateTime, metadata

dispute_cases = Table(
    "dispute_cases",
    metadata,
    Column("case_id", String(40), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("applicant_id", String(128), nullable=False, index=True),
    Column("reference", String(32), nullable=True, index=True),
    Column("loan_application_id", String(128), nullable=True, index=True),
    Column("session_id", String(64), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("description_enc", LargeBinary, nullable=True),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("respond_by", UtcDateTime(), nullable=False),
    Column("investigator", String(128), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("outcome", String(64), nullable=True),
    Column("decided_by", String(128), nullable=True),
    Column("approval_id", String(40), nullable=True),
    Column("version", Integer, nullable=False),
)

identity_freezes = Table(
    "identity_freezes",
    metadata,
    Column("freeze_id", String(40), primary_key=True),
    Column("applicant_id", String(128), nullable=False),
    Column("identity_key", String(64), nullable=True, index=True),
    Column("origin", String(16), nullable=False),
    Column("case_id", String(40), nullable=True),
    Column("reason", String(64), nullable=False),
    Column("frozen_at", UtcDateTime(), nullable=False),
    Column("frozen_by", String(128), nullable=False),
    Column("lifted_at", UtcDateTime(), nullable=True),
    Column("lifted_by", String(128), nullable=True),
    Column("lift_basis", String(96), nullable=True),
)

# At most one active freeze per applicant: a second "freeze" is a no-op, and one unfreeze lifts everything.
Index(
    "uq_identity_freezes_active_applicant",
    identity_freezes.c.applicant_id,
    unique=True,
    sqlite_where=identity_freezes.c.lifted_at.is_(None),
    postgresql_where=identity_freezes.c.lifted_at.is_(None),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("approval_id", String(40), primary_key=True),
    Column("action", String(48), nullable=False),
    Column("object_id", String(128), nullable=False),
    Column("applicant_id", String(128), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    # "pending", "approved", "rejected", "used"
    Column("status", String(16), nullable=False),
    Column("decided_by", String(128), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("used_at", UtcDateTime(), nullable=True),
)

#: What ties a staff member to applicants: declared relations, and the staff member's own phone and device
#: blind indexes (so a staff member who applies through their own phone is recognised as linked).
staff_relations = Table(
    "staff_relations",
    metadata,
    Column("staff_id", String(128), primary_key=True),
    Column("applicant_id", String(128), primary_key=True, index=True),
    Column("relation", String(32), nullable=False),
    Column("declared_at", UtcDateTime(), nullable=False),
)

staff_identifiers = Table(
    "staff_identifiers",
    metadata,
    Column("staff_id", String(128), primary_key=True),
    Column("key", String(64), primary_key=True, index=True),
    # "phone" or "device"
    Column("kind", String(16), nullable=False),
)
