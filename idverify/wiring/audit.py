"""Wiring of the audit trail's writer: who acts, and an ``AuditEvent`` turned into its entry. Part of the
composition root, kept apart from ``app.py`` so each area's wiring reads on its own."""

from __future__ import annotations

from idverify.audit import Actor, AuditEntry
from idverify.domain.repositories import AuditEvent
from idverify.transport.case_servicer import actor_of
from idverify.transport.interceptors import current_caller_or_none

#: The service itself, for work no caller asked for (the retention job, the outbox, the sealer).
SYSTEM = Actor(caller_id="idverify", role="system")


def acting() -> Actor:
    """The caller of the RPC being served, or the service itself outside one."""
    caller = current_caller_or_none()
    return actor_of(caller) if caller is not None else SYSTEM


def entry_of(event: AuditEvent) -> AuditEntry:
    """``event`` as an entry of the trail, acted by the current caller."""
    return AuditEntry(actor=acting(), action=event.action, object_type=event.object_type,
                      object_id=event.object_id, outcome=event.outcome, reason_code=event.reason_code,
                      details=dict(event.details))
