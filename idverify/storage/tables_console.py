"""Staff sign-in state for the console, and the indexes the console's paged lists need.

``staff_totp_credentials`` holds each staff member's authenticator secret sealed with ``FieldCipher`` (associated
data: table, column, staff id). ``staff_sessions`` holds only the SHA-256 of each session credential, never the
credential, and the SHA-256 of the API key that opened it, so withdrawing that key ends its sessions.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table

from idverify.storage.schema import UtcDateTime, metadata
from idverify.storage.tables_audit import audit_entries
from idverify.storage.tables_cases import approval_requests, dispute_cases

staff_totp_credentials = Table(
    "staff_totp_credentials",
    metadata,
    Column("staff_id", String(128), primary_key=True),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("digits", Integer, nullable=False),
    Column("period_s", Integer, nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("last_counter", BigInteger, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("credential_sha256", String(64), primary_key=True),
    Column("staff_id", String(128), nullable=False, index=True),
    Column("api_key_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("ended_at", UtcDateTime(), nullable=True),
)

# The console's lists are keyset-paged: each index matches one list's filter and order, so a page costs the same
# with 10,000 cases or 1,000,000 audit entries.
Index("ix_dispute_cases_state_respond_by", dispute_cases.c.state, dispute_cases.c.respond_by, dispute_cases.c.case_id)
Index("ix_dispute_cases_respond_by", dispute_cases.c.respond_by, dispute_cases.c.case_id)
Index("ix_approval_requests_status_requested_at", approval_requests.c.status, approval_requests.c.requested_at,
      approval_requests.c.approval_id)
Index("ix_approval_requests_requested_at", approval_requests.c.requested_at, approval_requests.c.approval_id)
Index("ix_audit_entries_object_id_seq", audit_entries.c.object_id, audit_entries.c.seq)
Index("ix_audit_entries_actor_id_seq", audit_entries.c.actor_id, audit_entries.c.seq)
Index("ix_audit_entries_action_seq", audit_entries.c.action, audit_entries.c.seq)
