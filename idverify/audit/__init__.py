"""Tamper-evident audit trail: hash-chained entries appended in the action's transaction, signed checkpoints."""

from idverify.audit.entry import Actor, AuditEntry, SealedEntry, check_details
from idverify.audit.log import AuditLog
from idverify.audit.verify import ChainReport, verify_chain

__all__ = ["Actor", "AuditEntry", "AuditLog", "ChainReport", "SealedEntry", "check_details", "verify_chain"]
