"""Audit records and ids shared by the cases services."""

from __future__ import annotations

import base64

from sqlalchemy import Connection

from idverify.audit import Actor, AuditEntry, AuditLog
from idverify.cases.approvals import StaffMember
from idverify.domain.ports import Random


def record(
    audit: AuditLog,
    conn: Connection,
    actor: Actor,
    event: str,
    subject: tuple[str, str],
    *,
    purpose: str = "",
    **details: str | None,
) -> None:
    """Audit ``event`` on ``subject`` (object type, object id); ``details`` hold ids and codes only."""
    audit.append(
        conn,
        AuditEntry(
            actor=actor,
            action=event,
            object_type=subject[0],
            object_id=subject[1],
            outcome="ok",
            purpose=purpose,
            details={k: v for k, v in details.items() if v is not None},
        ),
    )


def new_id(random: Random, prefix: str) -> str:
    """``prefix_`` and 16 base32 characters (80 random bits)."""
    return f"{prefix}_{base64.b32encode(random.token_bytes(10)).decode('ascii').lower()}"


def staff_actor(staff: StaffMember) -> Actor:
    return Actor(staff.staff_id, staff.role)
