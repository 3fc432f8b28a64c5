"""Values the risk rules work on (standard library only).

Identifiers arrive as blind indexes (``idverify.privacy.BlindIndex``); the risk store never sees plaintext.
``applicant_id`` is the lender's opaque account id, used to look up freezes and never stored by the risk store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Stage = Literal["start", "factor", "completed"]
Outcome = Literal["allow", "step_up", "review", "refuse"]
OUTCOMES: tuple[Outcome, ...] = ("allow", "step_up", "review", "refuse")


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is applying, as blind indexes. ``identity_key`` (the ID number's index) is known once a document or
    the lender supplied it; ``None`` keys are simply not counted."""

    tenant: str
    applicant_id: str
    applicant_key: str
    phone_key: str | None = None
    device_key: str | None = None
    ip_key: str | None = None
    identity_key: str | None = None


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """One point at which risk is evaluated: the start of a verification or a factor result.

    ``phone_recently_changed`` is the lender's SIM-swap / port-out flag from the start request.
    """

    stage: Stage
    subject: Subject
    session_id: str
    factor: str | None = None
    factor_passed: bool | None = None
    phone_recently_changed: bool = False

    def __post_init__(self) -> None:
        if self.stage == "factor" and (self.factor is None or self.factor_passed is None):
            raise ValueError("a factor event names the factor and whether it passed")


@dataclass(frozen=True, slots=True)
class Signals:
    """Counts over the configured windows, the current observation included."""

    at: datetime
    phones_per_identity: int = 0
    devices_per_identity: int = 0
    identities_per_device: int = 0
    identities_per_ip: int = 0
    failed_factors: int = 0
    known_account: bool = False
    device_seen_for_account: bool = True
    phone_recently_changed: bool = False
    tenant_starts_in_burst_window: int = 0
    frozen: bool = False


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired: its reason code, its score, factors it asks for, and whether it refuses outright."""

    code: str
    score: int
    step_up: tuple[str, ...] = ()
    hard_refusal: bool = False


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The policy's answer. ``step_up_factors`` is non-empty only for ``step_up``."""

    outcome: Outcome
    score: int
    reason_codes: tuple[str, ...] = ()
    step_up_factors: tuple[str, ...] = ()
    hits: tuple[RuleHit, ...] = field(default=(), repr=False)
