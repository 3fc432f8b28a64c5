"""Tables of the tamper-evident audit trail.

``audit_entries`` is append-only: one INSERT per entry, with its keyed MAC, and nothing shared is locked, so
concurrent writers on any number of replicas do not queue on each other. The service never updates or deletes a
row (retention and applicant deletion leave it alone; its rows hold ids, codes and hashes, never personal data).

``audit_chain`` is written by the sealer alone: one row per sealed entry, in chain order, each linked to the one
before by a keyed hash. ``audit_chain_head`` is the sealer's one-row head (only sealers lock it), and
``audit_checkpoints`` holds the signed checkpoints the sealer also exports to the log sink.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, String, Table, Text

from idverify.storage.schema import UtcDateTime, metadata

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    #: Not indexed (every index is paid by every append): ``verify_chain`` finds duplicated ids with one query.
    Column("entry_id", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(64), nullable=False),
    #: Looked up through ``ix_audit_entries_object_id_seq`` (``tables_console``), which also orders by seq.
    Column("object_id", String(128), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("purpose", String(256), nullable=False),
    Column("details", Text, nullable=False),
    #: HMAC-SHA256 of the entry under the audit key (legacy rows: their old unkeyed hash, see migration 0006).
    Column("entry_hash", String(64), nullable=False),
)

audit_chain = Table(
    "audit_chain",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_seq", BigInteger, nullable=False, unique=True),
    Column("entry_mac", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False),
)

#: One row (id = 1), locked by the sealer only: the last chain position and hash, the highest entry seq sealed,
#: and the last seq written before the keyed chain existed (those entries are adopted into it by the sealer).
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("position", BigInteger, nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("max_entry_seq", BigInteger, nullable=False),
    Column("legacy_seq", BigInteger, nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("max_entry_seq", BigInteger, nullable=False),
    Column("kid", String(64), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
)
