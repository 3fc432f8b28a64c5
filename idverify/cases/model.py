"""Dispute cases ("I never applied") as a state machine (standard library only).

States::

    opened ──> investigating ──> resolved_fraud_confirmed   (outcome: loan_cancelled |
      │              │                                       credit_record_correction_requested)
      │              ├─────────> resolved_not_fraud          (outcome: no_action; needs a second staff member)
      └──────────────┴─────────> withdrawn                   (by the applicant)

``opened``: the applicant reported; the identity is frozen and the lender must respond by ``respond_by``.
``investigating``: a staff member took the case. The three resolved/withdrawn states are terminal.
Every refused transition raises ``FailedPrecondition`` with a stable code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from idverify.domain.errors import FailedPrecondition, InvalidArgument


class CaseState(StrEnum):
    OPENED = "opened"
    INVESTIGATING = "investigating"
    RESOLVED_FRAUD_CONFIRMED = "resolved_fraud_confirmed"
    RESOLVED_NOT_FRAUD = "resolved_not_fraud"
    WITHDRAWN = "withdrawn"


TERMINAL = frozenset({CaseState.RESOLVED_FRAUD_CONFIRMED, CaseState.RESOLVED_NOT_FRAUD, CaseState.WITHDRAWN})
FRAUD_OUTCOMES = frozenset({"loan_cancelled", "credit_record_correction_requested"})
NOT_FRAUD_OUTCOMES = frozenset({"no_action"})


@dataclass(frozen=True, slots=True)
class DisputeCase:
    case_id: str
    state: CaseState
    applicant_id: str
    channel: str
    opened_at: datetime
    respond_by: datetime
    reference: str | None = None
    loan_application_id: str | None = None
    session_id: str | None = None
    investigator: str | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    decided_by: str | None = None
    approval_id: str | None = None
    version: int = 1

    def overdue(self, now: datetime) -> bool:
        """Still waiting for the lender after the response deadline."""
        return self.state not in TERMINAL and now > self.respond_by


def open_case(
    *,
    case_id: str,
    applicant_id: str,
    channel: str,
    now: datetime,
    response_window: timedelta,
    reference: str | None = None,
    loan_application_id: str | None = None,
    session_id: str | None = None,
) -> DisputeCase:
    """A new case from a completion-SMS reference or a loan application id (exactly one of them)."""
    if (reference is None) == (loan_application_id is None):
        raise InvalidArgument("case_subject_required", "give the reference or the loan application id")
    if channel not in ("app", "support"):
        raise InvalidArgument("case_channel_invalid", "channel is 'app' or 'support'")
    return DisputeCase(
        case_id=case_id,
        state=CaseState.OPENED,
        applicant_id=applicant_id,
        channel=channel,
        opened_at=now,
        respond_by=now + response_window,
        reference=reference,
        loan_application_id=loan_application_id,
        session_id=session_id,
    )


def start_investigation(case: DisputeCase, *, staff_id: str) -> DisputeCase:
    _require(case, {CaseState.OPENED}, "case_not_open")
    return replace(case, state=CaseState.INVESTIGATING, investigator=staff_id, version=case.version + 1)


def resolve(
    case: DisputeCase,
    *,
    fraud_confirmed: bool,
    outcome: str,
    decided_by: str,
    now: datetime,
    approval_id: str | None = None,
) -> DisputeCase:
    """Close an investigated case. A not-fraud resolution (against the applicant) must carry the approval id;
    checking the approval itself is the service's job."""
    _require(case, {CaseState.INVESTIGATING}, "case_not_investigating")
    allowed = FRAUD_OUTCOMES if fraud_confirmed else NOT_FRAUD_OUTCOMES
    if outcome not in allowed:
        raise InvalidArgument("case_outcome_invalid", f"outcome must be one of {sorted(allowed)}")
    if not fraud_confirmed and not approval_id:
        raise FailedPrecondition("approval_required", "a not-fraud resolution needs a second staff member's approval")
    state = CaseState.RESOLVED_FRAUD_CONFIRMED if fraud_confirmed else CaseState.RESOLVED_NOT_FRAUD
    return replace(
        case,
        state=state,
        outcome=outcome,
        decided_by=decided_by,
        closed_at=now,
        approval_id=approval_id,
        version=case.version + 1,
    )


def withdraw(case: DisputeCase, *, applicant_id: str, now: datetime) -> DisputeCase:
    """The applicant withdraws their own report."""
    if applicant_id != case.applicant_id:
        raise FailedPrecondition("case_not_yours", "only the applicant who reported can withdraw")
    _require(case, {CaseState.OPENED, CaseState.INVESTIGATING}, "case_closed")
    return replace(case, state=CaseState.WITHDRAWN, closed_at=now, decided_by=applicant_id, version=case.version + 1)


def _require(case: DisputeCase, states: set[CaseState], code: str) -> None:
    if case.state not in states:
        raise FailedPrecondition(code, f"the case is {case.state.value}")
