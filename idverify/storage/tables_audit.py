"""Tables of the hash-chained audit trail.

``audit_entries`` is append-only: the service never updates or deletes a row (retention and applicant deletion
leave it alone; its rows hold ids, codes and hashes, never personal data). ``audit_chain_head`` is one row that
every appender locks, so concurrent appenders on any number of replicas cannot fork the chain.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, String, Table, Text

from idverify.storage.schema import UtcDateTime, metadata

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("object_id", String(128), nullable=False, index=True),
    Column("outcome", String(64), nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("purpose", String(256), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

#: One row (id = 1): the last sequenced entry. Locked by every appender.
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("kid", String(64), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
)
