"""The dispute desk: each "I never applied" operation in one transaction, with its audit entries.

Reporting opens the case, freezes the identity and revokes every unredeemed token of the applicant together: if
any part fails, none happened. Staff actions name the staff member (from authentication) and, for reads of
personal data, a purpose that goes into the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, delete, select

from idverify.audit import Actor, AuditEntry, AuditLog, ChainReport
from idverify.cases.approval_service import ApprovalService
from idverify.cases.approvals import ApprovalAction, ApprovalRequest, StaffMember
from idverify.cases.freeze import Freeze
from idverify.cases.freeze_service import FreezeService
from idverify.cases.model import DisputeCase
from idverify.cases.service import CaseService
from idverify.cases.verifications import evidence_of
from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.domain.ports import Clock
from idverify.privacy.erasure import DEFAULT_TARGETS, erase_applicant
from idverify.storage.sql_sessions import mark_disputed
from idverify.storage.sql_tokens import SqlTokenRepository
from idverify.storage.tables import metadata
from idverify.storage.tables_audit import audit_entries
from idverify.storage.tables_cases import dispute_cases
from idverify.storage.tables_faces import face_templates, liveness_challenges, session_faces
from idverify.storage.tables_liveness import liveness_captures
from idverify.storage.tables_otp import otp_challenges, totp_credentials
from idverify.storage.tables_sessions import factor_results, issued_tokens, verification_sessions
from idverify.storage.unit_of_work import SqlUnitOfWork


@dataclass(frozen=True, slots=True)
class Report:
    case: DisputeCase
    freeze: Freeze
    revoked_tokens: int


class CaseDesk:
    def __init__(self, *, engine: Engine, audit: AuditLog, clock: Clock, cases: CaseService,
                 freezes: FreezeService, approvals: ApprovalService,
                 public_keys: Callable[[], Mapping[str, Ed25519PublicKey]],
                 sign: Callable[[dict[str, Any]], str],
                 notify: Callable[[dict[str, object], Connection], None] | None = None,
                 uow: Callable[[], SqlUnitOfWork] | None = None) -> None:
        """``notify(event, conn)`` queues a case event in the outbox on the report's own connection. ``uow``: each
        operation runs in one unit of work (its writer lock, outage mapping and outbox); without it, in a plain
        transaction on ``engine``."""
        self._notify = notify
        self._uow = uow
        self._engine, self._audit, self._clock = engine, audit, clock
        self.cases, self.freezes, self.approvals = cases, freezes, approvals
        self._public_keys, self._sign = public_keys, sign

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction for one desk operation: the unit of work's connection when there is one."""
        if self._uow is None:
            with self._engine.begin() as conn:
                yield conn
        else:
            with self._uow() as uow:
                yield uow.connection

    def report(self, *, actor: Actor, applicant_id: str, channel: str, reference: str | None,
               loan_application_id: str | None, description: str) -> Report:
        with self._transaction() as conn:
            case, freeze = self.cases.report_unauthorized(
                conn, applicant_id=applicant_id, channel=channel, reference=reference,
                loan_application_id=loan_application_id, description=description)
            revoked = SqlTokenRepository(conn).revoke(now=self._clock.now(), reason="dispute",
                                                      applicant_id=applicant_id)
            if case.session_id:  # the disputed verification says so wherever it is read (GetVerification, evidence)
                mark_disputed(conn, case.session_id)
            self._audit.append(conn, AuditEntry(actor=actor, action="tokens.revoked", object_type="applicant",
                                                object_id=applicant_id, outcome="ok", reason_code="dispute",
                                                details={"count": revoked, "case_id": case.case_id}))
            if self._notify is not None:  # queued with the case, sent after the commit: the loan must stop now
                self._notify({"event": "case.opened", "case_id": case.case_id, "applicant_id": applicant_id,
                              "session_id": case.session_id, "loan_application_id": case.loan_application_id,
                              "revoked_tokens": revoked, "respond_by": case.respond_by.isoformat()}, conn)
        return Report(case=case, freeze=freeze, revoked_tokens=revoked)

    def get_case(self, *, staff: StaffMember, case_id: str, purpose: str) -> DisputeCase:
        with self._transaction() as conn:
            return self.cases.get_case(conn, case_id, staff=staff, purpose=purpose)

    def resolve(self, *, staff: StaffMember, case_id: str, fraud_confirmed: bool, outcome: str,
                approval_id: str | None) -> DisputeCase:
        with self._transaction() as conn:
            case = self.cases.repo.get(conn, case_id)
            if case.state.value == "opened":
                self.cases.start_investigation(conn, case_id, staff=staff)
            return self.cases.resolve(conn, case_id, staff=staff, fraud_confirmed=fraud_confirmed, outcome=outcome,
                                      approval_id=approval_id)

    def freeze(self, *, actor: Actor, applicant_id: str, reason: str, by_consumer: bool) -> Freeze:
        with self._transaction() as conn:
            return self.freezes.freeze(conn, applicant_id=applicant_id,
                                       origin="consumer" if by_consumer else "staff", actor=actor, reason=reason)

    def unfreeze_by_consumer(self, *, applicant_id: str, session_id: str) -> Freeze:
        with self._transaction() as conn:
            return self.freezes.unfreeze_by_consumer(conn, applicant_id=applicant_id, verification_id=session_id)

    def unfreeze_by_staff(self, *, staff: StaffMember, applicant_id: str, approval_id: str) -> Freeze:
        with self._transaction() as conn:
            return self.freezes.unfreeze_by_staff(conn, applicant_id=applicant_id, staff=staff,
                                                  approval_id=approval_id)

    def frozen(self, applicant_id: str) -> Freeze | None:
        with self._transaction() as conn:
            return self.freezes.status(conn, applicant_id)

    def request_approval(self, *, staff: StaffMember, action: str, object_id: str, applicant_id: str,
                         reason: str) -> ApprovalRequest:
        try:
            kind = ApprovalAction(action)
        except ValueError:
            raise InvalidArgument("approval_action_invalid", "unknown action for approval") from None
        with self._transaction() as conn:
            return self.approvals.request(conn, staff=staff, action=kind, object_id=object_id,
                                          applicant_id=applicant_id, reason=reason)

    def decide_approval(self, *, staff: StaffMember, approval_id: str, approve: bool) -> ApprovalRequest:
        with self._transaction() as conn:
            return self.approvals.decide(conn, approval_id, staff=staff, approve=approve)

    def evidence(self, *, staff: StaffMember, case_id: str, purpose: str) -> tuple[str, dict[str, Any]]:
        """A signed bundle for one case: the case, the disputed verification (no personal or biometric data) and
        the audit entries about it. The export itself is audited with its purpose."""
        with self._transaction() as conn:
            case = self.cases.get_case(conn, case_id, staff=staff, purpose=purpose)
            session = evidence_of(conn, case.session_id) if case.session_id else {}
            ids = [i for i in (case.case_id, case.session_id, case.applicant_id) if i]
            rows = conn.execute(select(audit_entries).where(audit_entries.c.object_id.in_(ids))
                                .order_by(audit_entries.c.seq)).mappings()
            excerpt = [{"seq": r["seq"], "at": r["at"].isoformat(), "action": r["action"], "actor": r["actor_id"],
                        "object": f"{r['object_type']}:{r['object_id']}", "outcome": r["outcome"],
                        "reason_code": r["reason_code"], "entry_hash": r["entry_hash"]} for r in rows]
            self._audit.append(conn, AuditEntry(actor=Actor(staff.staff_id, staff.role), action="evidence.exported",
                                                object_type="case", object_id=case_id, outcome="ok",
                                                purpose=purpose))
        bundle = {
            "kind": "idverify.evidence.v1",
            "exported_at": self._clock.now().isoformat(),
            "exported_by": staff.staff_id,
            "purpose": purpose,
            "case": {"case_id": case.case_id, "state": case.state.value, "opened_at": case.opened_at.isoformat(),
                     "respond_by": case.respond_by.isoformat(), "outcome": case.outcome,
                     "decided_by": case.decided_by},
            "verification": session,
            "audit": excerpt,
        }
        return self._sign(bundle), bundle

    def list_events(self, *, actor: Actor, object_id: str, after_seq: int, size: int, purpose: str
                    ) -> list[dict[str, Any]]:
        """A page of audit entries (ids and codes only); the read itself is audited with its purpose."""
        a = audit_entries
        query = select(a).where(a.c.seq > after_seq).order_by(a.c.seq).limit(size)
        if object_id:
            query = query.where(a.c.object_id == object_id)
        with self._transaction() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            self._audit.append(conn, AuditEntry(actor=actor, action="audit.read", object_type="audit",
                                                object_id=object_id or "*", outcome="ok", purpose=purpose,
                                                details={"count": len(rows)}))
        return rows

    def erase_applicant(self, *, actor: Actor, applicant_id: str, purpose: str,
                        blind_indexes: Sequence[str]) -> dict[str, int]:
        """Delete the applicant's data, children before parents, in one transaction; the audit chain stays.
        Refused (``erasure_blocked_open_case``) while a dispute case of theirs is open: it is evidence."""
        with self._transaction() as conn:
            open_case = conn.execute(select(dispute_cases.c.case_id).where(
                dispute_cases.c.applicant_id == applicant_id,
                dispute_cases.c.state.in_(("opened", "investigating"))).limit(1)).first()
            if open_case is not None:
                raise FailedPrecondition("erasure_blocked_open_case", "an open dispute case holds this data")
            sessions = select(verification_sessions.c.session_id).where(
                verification_sessions.c.applicant_id == applicant_id).scalar_subquery()
            deleted: dict[str, int] = {}
            for table in (factor_results, issued_tokens, session_faces, liveness_challenges, liveness_captures):
                result = conn.execute(delete(table).where(table.c.session_id.in_(sessions)))
                deleted[table.name] = max(result.rowcount, 0)
            for table in (verification_sessions, otp_challenges, totp_credentials, face_templates):
                result = conn.execute(delete(table).where(table.c.applicant_id == applicant_id))
                deleted[table.name] = max(result.rowcount, 0)
            deleted.update(erase_applicant(conn, metadata, DEFAULT_TARGETS, applicant_id=applicant_id,
                                           blind_indexes=blind_indexes, audit=self._audit,
                                           actor=Actor(actor.caller_id, actor.role)))
            self._audit.append(conn, AuditEntry(actor=actor, action="applicant.data_erased",
                                                object_type="applicant", object_id=applicant_id, outcome="ok",
                                                purpose=purpose, details=dict(deleted)))
        return deleted

    def declare_staff_links(self, *, actor: Actor, staff_id: str, related_applicants: Sequence[str], relation: str,
                            own_keys: Sequence[tuple[str, str]]) -> int:
        """Record relations and the staff member's own phone/device blind indexes (``(kind, key)`` pairs)."""
        now = self._clock.now()
        with self._transaction() as conn:
            for applicant in related_applicants:
                self.approvals.staff.declare_relation(conn, staff_id=staff_id, applicant_id=applicant,
                                                      relation=relation, now=now)
            for kind, key in own_keys:
                self.approvals.staff.register_key(conn, staff_id=staff_id, key=key, kind=kind)
            recorded = len(related_applicants) + len(own_keys)
            self._audit.append(conn, AuditEntry(actor=actor, action="staff.links_declared", object_type="staff",
                                                object_id=staff_id, outcome="ok",
                                                details={"relations": len(related_applicants),
                                                         "own_keys": len(own_keys)}))
        return recorded

    def verify_chain(self) -> ChainReport:
        return self._audit.verify(self._engine, self._public_keys())
