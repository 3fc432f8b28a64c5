"""Maker-checker: actions that need two different staff members (standard library only).

The maker requests an action on one applicant's object; a *different* staff member approves it; the maker then
executes it once. Nobody approves their own request, and staff linked to the applicant (a declared relation, or
their own phone or device blind index seen on the applicant) can neither request, approve nor execute.
Every refusal is ``PermissionDenied`` (who may act) or ``FailedPrecondition`` (the request's state) with a code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from idverify.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied


class ApprovalAction(StrEnum):
    OVERRIDE_FAILED_VERIFICATION = "override_failed_verification"  # object: the session id
    UNFREEZE_IDENTITY = "unfreeze_identity"  # object: the applicant id
    RESOLVE_CASE_NOT_FRAUD = "resolve_case_not_fraud"  # object: the case id


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    USED = "used"


#: Roles allowed to request and approve; configurable per deployment through :class:`ApprovalRules`.
DEFAULT_ROLES = frozenset({"fraud_analyst", "fraud_supervisor"})


@dataclass(frozen=True, slots=True)
class StaffMember:
    """An authenticated staff caller: id and role come from the transport's authentication."""

    staff_id: str
    role: str


@dataclass(frozen=True, slots=True)
class StaffLinks:
    """What ties a staff member to applicants: declared relations (applicant ids) and own phone/device keys."""

    related_applicants: frozenset[str] = frozenset()
    own_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ApplicantKeys:
    """The applicant's phone and device blind indexes as seen by the service."""

    applicant_id: str
    keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    approval_id: str
    action: ApprovalAction
    object_id: str
    applicant_id: str
    reason: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    used_at: datetime | None = None


def is_linked(links: StaffLinks, applicant: ApplicantKeys) -> bool:
    return applicant.applicant_id in links.related_applicants or bool(links.own_keys & applicant.keys)


@dataclass(frozen=True, slots=True)
class ApprovalRules:
    roles: frozenset[str] = DEFAULT_ROLES
    valid_for: timedelta = timedelta(hours=24)

    def check_may_act(self, staff: StaffMember, links: StaffLinks, applicant: ApplicantKeys) -> None:
        """Raise ``PermissionDenied`` unless ``staff`` has an allowed role and no link to the applicant."""
        if staff.role not in self.roles:
            raise PermissionDenied("staff_role_not_allowed", f"role {staff.role!r} cannot take this action")
        if staff.staff_id == applicant.applicant_id or is_linked(links, applicant):
            raise PermissionDenied("staff_linked_to_applicant", "staff linked to the applicant cannot act on them")

    def request(
        self,
        *,
        approval_id: str,
        staff: StaffMember,
        links: StaffLinks,
        applicant: ApplicantKeys,
        action: ApprovalAction,
        object_id: str,
        reason: str,
        now: datetime,
    ) -> ApprovalRequest:
        self.check_may_act(staff, links, applicant)
        if not reason.strip():
            raise InvalidArgument("approval_reason_missing", "say why the action is needed")
        return ApprovalRequest(
            approval_id=approval_id,
            action=action,
            object_id=object_id,
            applicant_id=applicant.applicant_id,
            reason=reason,
            requested_by=staff.staff_id,
            requested_at=now,
            expires_at=now + self.valid_for,
        )

    def decide(
        self,
        request: ApprovalRequest,
        *,
        approve: bool,
        staff: StaffMember,
        links: StaffLinks,
        applicant: ApplicantKeys,
        now: datetime,
    ) -> ApprovalRequest:
        """The checker approves or rejects. Raises ``PermissionDenied("approval_self_approval")`` for the maker."""
        if staff.staff_id == request.requested_by:
            raise PermissionDenied("approval_self_approval", "a second staff member must approve")
        self.check_may_act(staff, links, applicant)
        _check_pending(request, now)
        status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        return replace(request, status=status, decided_by=staff.staff_id, decided_at=now)

    def use(
        self,
        request: ApprovalRequest,
        *,
        action: ApprovalAction,
        object_id: str,
        staff: StaffMember,
        links: StaffLinks,
        applicant: ApplicantKeys,
        now: datetime,
    ) -> ApprovalRequest:
        """The maker executes the approved action, once."""
        if request.action != action or request.object_id != object_id or request.applicant_id != applicant.applicant_id:
            raise FailedPrecondition("approval_mismatch", "the approval is for another action or object")
        if staff.staff_id != request.requested_by:
            raise PermissionDenied("approval_not_requester", "only the staff member who requested it can execute")
        self.check_may_act(staff, links, applicant)
        if request.status != ApprovalStatus.APPROVED:
            raise FailedPrecondition("approval_not_approved", f"the approval is {request.status.value}")
        if now >= request.expires_at:
            raise FailedPrecondition("approval_expired", "the approval has expired")
        return replace(request, status=ApprovalStatus.USED, used_at=now)


def _check_pending(request: ApprovalRequest, now: datetime) -> None:
    if request.status != ApprovalStatus.PENDING:
        raise FailedPrecondition("approval_not_pending", f"the approval is {request.status.value}")
    if now >= request.expires_at:
        raise FailedPrecondition("approval_expired", "the approval has expired")
