"""Maker-checker use cases: request, approve or reject, and use an approval once."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from idverify.audit import AuditLog
from idverify.cases.approvals import (
    ApplicantKeys,
    ApprovalAction,
    ApprovalRequest,
    ApprovalRules,
    ApprovalStatus,
    StaffMember,
)
from idverify.cases.recording import new_id, record, staff_actor
from idverify.cases.repository import SqlApprovalRepository, SqlStaffDirectory
from idverify.domain.errors import FailedPrecondition
from idverify.domain.ports import Clock, Random


class ApplicantKeysLookup(Protocol):
    """The applicant's phone/device blind indexes (``RiskObservationApplicantKeys`` reads the risk store)."""

    def keys_for(self, conn: Connection, applicant_id: str) -> ApplicantKeys: ...


class ApprovalService:
    """Two different, unlinked staff members for every sensitive action. Runs in the caller's transaction."""

    def __init__(
        self,
        *,
        audit: AuditLog,
        clock: Clock,
        random: Random,
        applicant_keys: ApplicantKeysLookup,
        rules: ApprovalRules | None = None,
    ) -> None:
        self._audit, self._clock, self._random = audit, clock, random
        self._applicant_keys = applicant_keys
        self._rules = rules or ApprovalRules()
        self.repo, self.staff = SqlApprovalRepository(), SqlStaffDirectory()

    def check_may_act(self, conn: Connection, staff: StaffMember, applicant_id: str) -> None:
        """``PermissionDenied("staff_role_not_allowed" | "staff_linked_to_applicant")`` unless staff may act."""
        applicant = self._applicant_keys.keys_for(conn, applicant_id)
        self._rules.check_may_act(staff, self.staff.links(conn, staff.staff_id), applicant)

    def request(
        self,
        conn: Connection,
        *,
        staff: StaffMember,
        action: ApprovalAction,
        object_id: str,
        applicant_id: str,
        reason: str,
    ) -> ApprovalRequest:
        request = self._rules.request(
            approval_id=new_id(self._random, "apr"),
            staff=staff,
            links=self.staff.links(conn, staff.staff_id),
            applicant=self._applicant_keys.keys_for(conn, applicant_id),
            action=action,
            object_id=object_id,
            reason=reason,
            now=self._clock.now(),
        )
        self.repo.add(conn, request)
        record(
            self._audit,
            conn,
            staff_actor(staff),
            "approval.request",
            ("approval", request.approval_id),
            action=action.value,
            object_id=object_id,
        )
        return request

    def decide(self, conn: Connection, approval_id: str, *, staff: StaffMember, approve: bool) -> ApprovalRequest:
        """The checker's decision. ``PermissionDenied("approval_self_approval")`` for the maker."""
        request = self.repo.get(conn, approval_id)
        decided = self._rules.decide(
            request,
            approve=approve,
            staff=staff,
            links=self.staff.links(conn, staff.staff_id),
            applicant=self._applicant_keys.keys_for(conn, request.applicant_id),
            now=self._clock.now(),
        )
        self.repo.save(conn, decided, previous=ApprovalStatus.PENDING)
        event = "approval.approve" if approve else "approval.reject"
        record(self._audit, conn, staff_actor(staff), event, ("approval", approval_id), action=request.action.value)
        return decided

    def use(
        self,
        conn: Connection,
        approval_id: str | None,
        *,
        action: ApprovalAction,
        object_id: str,
        staff: StaffMember,
        applicant_id: str,
    ) -> ApprovalRequest:
        """Consume an approved request for exactly this action and object, by its maker, once."""
        if not approval_id:
            raise FailedPrecondition("approval_required", "this action needs a second staff member's approval")
        request = self.repo.get(conn, approval_id)
        used = self._rules.use(
            request,
            action=action,
            object_id=object_id,
            staff=staff,
            links=self.staff.links(conn, staff.staff_id),
            applicant=self._applicant_keys.keys_for(conn, applicant_id),
            now=self._clock.now(),
        )
        self.repo.save(conn, used, previous=ApprovalStatus.APPROVED)
        return used
