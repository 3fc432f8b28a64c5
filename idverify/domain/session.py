"""The verification session: one applicant, one loan application, a set of required factors, a short life.

States::

    created --first factor result--> in_progress --all required factors passed--> completed
       |                                  |
       +----------------------------------+--> failed (a factor can no longer pass, risk refusal)
       +----------------------------------+--> expired (past expires_at; set lazily on the next touch)
       +----------------------------------+--> cancelled (by the lender's backend)

Terminal states never change again. The session is a plain value; ``SessionStore`` persists it with optimistic
concurrency (``version``), so two replicas cannot both move it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from idverify.domain.errors import FailedPrecondition, NotFound
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome


class Status(StrEnum):
    CREATED = "created"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED})


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    score: int = 0
    reason_codes: tuple[str, ...] = ()
    decision: str = "allow"


@dataclass(frozen=True, slots=True)
class VerificationSession:
    session_id: str
    reference: str
    context: ApplicationContext
    status: Status
    required: tuple[Factor, ...]
    created_at: datetime
    expires_at: datetime
    results: tuple[FactorResult, ...] = ()
    reason_code: str = ""
    risk: RiskAssessment = field(default_factory=RiskAssessment)
    first_loan: bool = False
    phone_recently_changed: bool = False
    biometric_consent: bool = False
    consent_text_version: str = ""
    completed_at: datetime | None = None
    version: int = 0

    # -- queries -------------------------------------------------------------------------------------------

    @property
    def passed(self) -> tuple[Factor, ...]:
        """Required factors with at least one PASSED result, in the order the policy listed them."""
        ok = {r.factor for r in self.results if r.outcome is Outcome.PASSED}
        return tuple(f for f in self.required if f in ok)

    @property
    def missing(self) -> tuple[Factor, ...]:
        done = set(self.passed)
        return tuple(f for f in self.required if f not in done)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def belongs_to(self, context: ApplicationContext) -> None:
        """Raise unless ``context`` is the one this session was opened for.

        Another applicant's session is reported as not found (its existence is not revealed); the right applicant
        with another loan application or amount gets ``context_mismatch``: a changed loan needs a new verification.
        """
        if context.applicant_id != self.context.applicant_id:
            raise NotFound("session_not_found", "no such verification")
        if (
            context.loan_application_id != self.context.loan_application_id
            or context.amount != self.context.amount
        ):
            raise FailedPrecondition(
                "context_mismatch", "the loan application or amount differs from the one being verified"
            )

    # -- transitions (each returns a new value) --------------------------------------------------------------

    def expire_if_due(self, now: datetime) -> VerificationSession:
        if not self.is_terminal and now >= self.expires_at:
            return replace(self, status=Status.EXPIRED, reason_code="session_expired")
        return self

    def require_active(self, now: datetime) -> None:
        """Raise ``FailedPrecondition`` unless factors may still be attempted."""
        if now >= self.expires_at and not self.is_terminal:
            raise FailedPrecondition("session_expired", "the verification has expired; start a new one")
        if self.status is Status.EXPIRED:
            raise FailedPrecondition("session_expired", "the verification has expired; start a new one")
        if self.status is Status.CANCELLED:
            raise FailedPrecondition("session_cancelled", "the verification was cancelled")
        if self.status is Status.COMPLETED:
            raise FailedPrecondition("session_completed", "the verification is already complete")
        if self.status is Status.FAILED:
            raise FailedPrecondition("session_failed", "the verification has failed; start a new one")

    def record(self, result: FactorResult, now: datetime) -> VerificationSession:
        """Append a factor result. Raises ``FailedPrecondition`` if the session is not active or the factor is
        not one the policy required."""
        self.require_active(now)
        if result.factor not in self.required:
            raise FailedPrecondition("factor_not_required", f"{result.factor.value} is not required here")
        status = Status.IN_PROGRESS if self.status is Status.CREATED else self.status
        return replace(self, results=(*self.results, result), status=status)

    def fail(self, reason_code: str, now: datetime) -> VerificationSession:
        self.require_active(now)
        return replace(self, status=Status.FAILED, reason_code=reason_code)

    def cancel(self, now: datetime) -> VerificationSession:
        self.require_active(now)
        return replace(self, status=Status.CANCELLED, reason_code="cancelled_by_lender")

    def complete(self, now: datetime) -> VerificationSession:
        """Move to COMPLETED. Raises ``FailedPrecondition("factors_incomplete")`` naming what is missing."""
        self.require_active(now)
        if self.missing:
            names = ", ".join(f.value for f in self.missing)
            raise FailedPrecondition("factors_incomplete", f"required factors not yet passed: {names}")
        return replace(self, status=Status.COMPLETED, completed_at=now, reason_code="")
