"""The staff console's lists: the case queue, the approvals inbox and the audit search. Each is keyset-paged on an
index (``storage.tables_console``), so a page costs the same at 10,000 cases or 1,000,000 audit entries, and each
read is itself appended to the audit trail, with its purpose, in the same transaction."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Engine, and_, or_, select

from idverify.audit import Actor, AuditEntry, AuditLog
from idverify.cases.approvals import ApprovalAction, ApprovalRequest, ApprovalStatus
from idverify.cases.model import CaseState, DisputeCase
from idverify.domain.errors import InvalidArgument
from idverify.domain.ports import Clock
from idverify.storage.tables_audit import audit_entries
from idverify.storage.tables_cases import approval_requests, dispute_cases

_OPEN = (CaseState.OPENED.value, CaseState.INVESTIGATING.value)
_CASE_FIELDS = [c for c in dispute_cases.c if c.name != "description_enc"]
MAX_PAGE = 200
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str


def page_size(requested: int) -> int:
    return min(max(requested or 50, 1), MAX_PAGE)


def _token(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


def _untoken(token: str, parts: int) -> list[str]:
    try:
        values = base64.urlsafe_b64decode(token.encode("ascii")).decode().split("\x1f")
    except (ValueError, UnicodeError):
        values = []
    if len(values) != parts:
        raise InvalidArgument("page_token_invalid", "the page token is not valid; start from the first page")
    return values


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("page_token_invalid", "the page token is not valid; start from the first page") from None
    if parsed.tzinfo is None:
        raise InvalidArgument("page_token_invalid", "the page token is not valid; start from the first page")
    return parsed


class StaffReads:
    def __init__(self, *, engine: Engine, audit: AuditLog, clock: Clock) -> None:
        self._engine, self._audit, self._clock = engine, audit, clock

    def list_cases(self, *, actor: Actor, state: str, overdue_only: bool, applicant_id: str, size: int,
                   token: str, purpose: str) -> Page[DisputeCase]:
        """Cases by response deadline, most urgent first. ``state``: "open" (default), "all" or one state."""
        c = dispute_cases.c
        conditions: list[ColumnElement[bool]] = []
        state = state or "open"
        if state == "open" or overdue_only:
            conditions.append(c.state.in_(_OPEN))
        if state not in ("open", "all"):
            try:
                conditions.append(c.state == CaseState(state).value)
            except ValueError:
                raise InvalidArgument("case_state_invalid", "unknown case state") from None
        if overdue_only:
            conditions.append(c.respond_by < self._clock.now())
        if applicant_id:
            conditions.append(c.applicant_id == applicant_id)
        if token:
            after, case_id = _untoken(token, 2)
            at = _instant(after)
            conditions.append(or_(c.respond_by > at, and_(c.respond_by == at, c.case_id > case_id)))
        query = select(*_CASE_FIELDS).where(*conditions).order_by(c.respond_by, c.case_id).limit(size + 1)
        with self._engine.begin() as conn:
            rows = [r._asdict() for r in conn.execute(query)]
            self._audit.append(conn, AuditEntry(
                actor=actor, action="cases.listed", object_type="case_queue", object_id=applicant_id or "*",
                outcome="ok", purpose=purpose, details={"state": state, "overdue_only": overdue_only,
                                                        "count": min(len(rows), size)}))
        cases = [DisputeCase(**{**r, "state": CaseState(r["state"])}) for r in rows[:size]]
        more = len(rows) > size
        last = cases[-1] if cases else None
        return Page(cases, _token(last.respond_by.isoformat(), last.case_id) if more and last else "")

    def list_approvals(self, *, actor: Actor, scope: str, status: str, size: int, token: str
                       ) -> Page[ApprovalRequest]:
        """Newest first. ``scope``: "to_decide" (pending, requested by someone else, not expired), "mine", "all".
        Deciding stays with ``DecideApproval``, which enforces maker-checker and staff links whatever is listed."""
        a = approval_requests.c
        conditions: list[ColumnElement[bool]] = []
        scope = scope or "to_decide"
        if scope == "to_decide":
            conditions += [a.status == ApprovalStatus.PENDING.value, a.requested_by != actor.caller_id,
                           a.expires_at > self._clock.now()]
        elif scope == "mine":
            conditions.append(a.requested_by == actor.caller_id)
        elif scope != "all":
            raise InvalidArgument("approval_scope_invalid", "scope is to_decide, mine or all")
        if status:
            try:
                conditions.append(a.status == ApprovalStatus(status).value)
            except ValueError:
                raise InvalidArgument("approval_status_invalid", "unknown approval status") from None
        if token:
            before, approval_id = _untoken(token, 2)
            at = _instant(before)
            conditions.append(or_(a.requested_at < at, and_(a.requested_at == at, a.approval_id < approval_id)))
        query = (select(approval_requests).where(*conditions)
                 .order_by(a.requested_at.desc(), a.approval_id.desc()).limit(size + 1))
        with self._engine.connect() as conn:
            rows = [r._asdict() for r in conn.execute(query)]
        items = [ApprovalRequest(**{**r, "action": ApprovalAction(r["action"]), "status": ApprovalStatus(r["status"])})
                 for r in rows[:size]]
        more = len(rows) > size
        last = items[-1] if items else None
        return Page(items, _token(last.requested_at.isoformat(), last.approval_id) if more and last else "")

    def search_audit(self, *, actor: Actor, purpose: str, object_id: str, actor_id: str, action: str,
                     before_seq: int, size: int) -> tuple[list[dict[str, Any]], int]:
        """Entries newest first, and the ``before_seq`` of the next page (0 when none). Audited with its purpose."""
        e = audit_entries.c
        conditions: list[ColumnElement[bool]] = []
        if object_id:
            conditions.append(e.object_id == object_id)
        if actor_id:
            conditions.append(e.actor_id == actor_id)
        if action:
            conditions.append(e.action == action)
        if before_seq > 0:
            conditions.append(e.seq < before_seq)
        query = (select(e.seq, e.at, e.actor_id, e.actor_role, e.action, e.object_type, e.object_id, e.outcome,
                        e.reason_code, e.purpose, e.entry_hash)
                 .where(*conditions).order_by(e.seq.desc()).limit(size + 1))
        with self._engine.begin() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
            self._audit.append(conn, AuditEntry(
                actor=actor, action="audit.searched", object_type="audit", object_id=object_id or "*",
                outcome="ok", purpose=purpose,
                details={"actor_filter": actor_id, "action_filter": action, "count": min(len(rows), size)}))
        more = len(rows) > size
        rows = rows[:size]
        return rows, (rows[-1]["seq"] if more and rows else 0)
