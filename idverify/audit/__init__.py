"""Tamper-evident audit trail: entries appended with a keyed MAC in the action's transaction, sealed into a keyed
hash chain by a background sealer, checkpoints signed and exported outside the database."""

from idverify.audit.entry import Actor, AuditEntry, AuditKey, Checkpoint, StoredEntry, check_details
from idverify.audit.log import AuditLog
from idverify.audit.sealer import AuditSealer, CheckpointSigner
from idverify.audit.verify import ChainReport, read_exported, verify_chain

__all__ = [
    "Actor", "AuditEntry", "AuditKey", "AuditLog", "AuditSealer", "ChainReport", "Checkpoint", "CheckpointSigner",
    "StoredEntry", "check_details", "read_exported", "verify_chain",
]
