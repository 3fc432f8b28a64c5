"""Identity freezes and the rules for lifting them (standard library only).

A freeze is applicant-level (the lender's account id, plus the ID-number blind index when known, so a new account
opened with the same stolen ID number is refused too). It is created by the consumer, by a dispute case, or by
staff. The consumer lifts it with a fresh, completed, high-assurance verification of the same applicant, used
once; staff lift it only with a maker-checker approval (see :mod:`idverify.cases.approvals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from idverify.domain.errors import FailedPrecondition

FreezeOrigin = Literal["consumer", "case", "staff"]


@dataclass(frozen=True, slots=True)
class Freeze:
    freeze_id: str
    applicant_id: str
    origin: FreezeOrigin
    reason: str
    frozen_at: datetime
    frozen_by: str
    identity_key: str | None = None
    case_id: str | None = None
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    lift_basis: str | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None


@dataclass(frozen=True, slots=True)
class VerificationProof:
    """What the verification store says about a verification the consumer presents to unfreeze."""

    verification_id: str
    applicant_id: str
    completed: bool
    high_assurance: bool
    completed_at: datetime | None


def check_consumer_unfreeze(
    freeze: Freeze, proof: VerificationProof | None, *, applicant_id: str, now: datetime, max_age: timedelta
) -> None:
    """Raise ``FailedPrecondition`` unless ``proof`` is a completed high-assurance verification of this applicant,
    finished after the freeze and no older than ``max_age``."""
    if proof is None:
        raise FailedPrecondition("unfreeze_verification_unknown", "no such verification")
    if proof.applicant_id != applicant_id or freeze.applicant_id != applicant_id:
        raise FailedPrecondition("unfreeze_verification_other_applicant", "the verification is of someone else")
    if not proof.completed or proof.completed_at is None:
        raise FailedPrecondition("unfreeze_verification_incomplete", "the verification has not completed")
    if not proof.high_assurance:
        raise FailedPrecondition("unfreeze_verification_low_assurance", "unfreezing needs a face-verified session")
    if proof.completed_at < freeze.frozen_at or now - proof.completed_at > max_age:
        raise FailedPrecondition("unfreeze_verification_stale", "verify again to unfreeze")
