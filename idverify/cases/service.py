"""Dispute-case use cases: report "this was not me", investigate, resolve, withdraw, override.

Every method runs in the caller's transaction (a Connection inside ``engine.begin()``) and appends its audit entry
there, so the change and its record commit together. Staff identities (id, role) come from authentication.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection

from idverify.audit import Actor, AuditLog
from idverify.cases import model
from idverify.cases.approval_service import ApprovalService
from idverify.cases.approvals import ApprovalAction, StaffMember
from idverify.cases.freeze import Freeze
from idverify.cases.freeze_service import FreezeService
from idverify.cases.model import DisputeCase
from idverify.cases.recording import new_id, record, staff_actor
from idverify.cases.repository import SqlCaseRepository
from idverify.domain.errors import InvalidArgument, NotFound, PermissionDenied
from idverify.domain.ports import Clock, Random
from idverify.privacy.cipher import FieldCipher, FieldContext


@dataclass(frozen=True, slots=True)
class ReportedVerification:
    """What a completion-SMS reference or a loan application id points to."""

    session_id: str
    applicant_id: str
    loan_application_id: str


class ReportedVerifications(Protocol):
    """Wired by the integrator to the session store."""

    def by_reference(self, conn: Connection, reference: str) -> ReportedVerification | None: ...

    def by_loan_application(self, conn: Connection, loan_application_id: str) -> ReportedVerification | None: ...


class CaseService:
    def __init__(
        self,
        *,
        audit: AuditLog,
        clock: Clock,
        random: Random,
        reported: ReportedVerifications,
        freezes: FreezeService,
        approvals: ApprovalService,
        cipher: FieldCipher | None = None,
        response_window: timedelta = timedelta(hours=72),
    ) -> None:
        self._audit, self._clock, self._random = audit, clock, random
        self._reported, self._freezes, self._approvals = reported, freezes, approvals
        self._cipher, self._window = cipher, response_window
        self.repo = SqlCaseRepository()

    def report_unauthorized(
        self,
        conn: Connection,
        *,
        applicant_id: str,
        channel: str,
        reference: str | None = None,
        loan_application_id: str | None = None,
        description: str = "",
        identity_key: str | None = None,
    ) -> tuple[DisputeCase, Freeze]:
        """Open a case and freeze the applicant in one step (the integrator revokes unredeemed tokens in the same
        transaction). Raises ``InvalidArgument("case_subject_required")`` unless exactly one of reference and
        loan application id is given, ``NotFound("case_subject_unknown")`` when it matches nothing, and
        ``PermissionDenied("case_subject_mismatch")`` when it belongs to another applicant."""
        case = model.open_case(
            case_id=new_id(self._random, "case"),
            applicant_id=applicant_id,
            channel=channel,
            now=self._clock.now(),
            response_window=self._window,
            reference=reference,
            loan_application_id=loan_application_id,
        )
        if reference is not None:
            target = self._reported.by_reference(conn, reference)
        else:
            target = self._reported.by_loan_application(conn, loan_application_id or "")
        if target is None:
            raise NotFound("case_subject_unknown", "no verification with that reference or application")
        if target.applicant_id != applicant_id:
            raise PermissionDenied("case_subject_mismatch", "the verification belongs to another applicant")
        case = replace(case, session_id=target.session_id, loan_application_id=target.loan_application_id)
        encrypted = None
        if description and self._cipher is not None:
            encrypted = self._cipher.encrypt(description, FieldContext("dispute_cases", "description", case.case_id))
        self.repo.add(conn, case, encrypted)
        actor = Actor(applicant_id, "applicant")
        record(
            self._audit, conn, actor, "case.open", ("case", case.case_id), channel=channel, session_id=case.session_id
        )
        freeze = self._freezes.freeze(
            conn,
            applicant_id=applicant_id,
            identity_key=identity_key,
            origin="case",
            actor=actor,
            reason="unauthorized_application_reported",
            case_id=case.case_id,
        )
        return case, freeze

    def withdraw(self, conn: Connection, case_id: str, *, applicant_id: str) -> DisputeCase:
        case = self.repo.get(conn, case_id, for_update=True)
        case = model.withdraw(case, applicant_id=applicant_id, now=self._clock.now())
        self.repo.save(conn, case)
        record(self._audit, conn, Actor(applicant_id, "applicant"), "case.withdraw", ("case", case_id))
        return case

    def get_case(self, conn: Connection, case_id: str, *, staff: StaffMember, purpose: str) -> DisputeCase:
        """A staff read: needs a stated purpose, which goes into the audit trail."""
        if not purpose.strip():
            raise InvalidArgument("purpose_required", "say why you are reading this case")
        case = self.repo.get(conn, case_id)
        record(self._audit, conn, staff_actor(staff), "case.read", ("case", case_id), purpose=purpose)
        return case

    def start_investigation(self, conn: Connection, case_id: str, *, staff: StaffMember) -> DisputeCase:
        case = self.repo.get(conn, case_id, for_update=True)
        self._approvals.check_may_act(conn, staff, case.applicant_id)
        case = model.start_investigation(case, staff_id=staff.staff_id)
        self.repo.save(conn, case)
        record(self._audit, conn, staff_actor(staff), "case.investigate", ("case", case_id))
        return case

    def resolve(
        self,
        conn: Connection,
        case_id: str,
        *,
        staff: StaffMember,
        fraud_confirmed: bool,
        outcome: str,
        approval_id: str | None = None,
    ) -> DisputeCase:
        """Resolve an investigated case. Against the applicant (not fraud) it uses an approval for
        ``resolve_case_not_fraud`` on this case, requested by ``staff`` and approved by another staff member."""
        case = self.repo.get(conn, case_id, for_update=True)
        self._approvals.check_may_act(conn, staff, case.applicant_id)
        resolved = model.resolve(
            case,
            fraud_confirmed=fraud_confirmed,
            outcome=outcome,
            decided_by=staff.staff_id,
            now=self._clock.now(),
            approval_id=approval_id,
        )
        if not fraud_confirmed:
            self._approvals.use(
                conn,
                approval_id,
                action=ApprovalAction.RESOLVE_CASE_NOT_FRAUD,
                object_id=case_id,
                staff=staff,
                applicant_id=case.applicant_id,
            )
        self.repo.save(conn, resolved)
        record(
            self._audit,
            conn,
            staff_actor(staff),
            "case.resolve",
            ("case", case_id),
            state=resolved.state.value,
            outcome=outcome,
            approval_id=approval_id,
        )
        return resolved

    def override_failed_verification(
        self, conn: Connection, *, session_id: str, applicant_id: str, staff: StaffMember, approval_id: str
    ) -> None:
        """Use the approval to override a failed verification; the integrator then changes the session."""
        self._approvals.use(
            conn,
            approval_id,
            action=ApprovalAction.OVERRIDE_FAILED_VERIFICATION,
            object_id=session_id,
            staff=staff,
            applicant_id=applicant_id,
        )
        record(
            self._audit,
            conn,
            staff_actor(staff),
            "verification.override",
            ("session", session_id),
            approval_id=approval_id,
        )

    def overdue(self, conn: Connection) -> list[str]:
        """Ids of open cases past their response deadline, oldest deadline first."""
        return self.repo.overdue(conn, self._clock.now())
