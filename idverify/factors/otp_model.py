"""One-time code values and the ports a send or a check goes through: context, receipt, stored code, stores."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from idverify.domain.errors import InvalidArgument
from idverify.factors.otp_limits import LockoutPolicy, LockoutState

_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
LOCALES = ("zh-CN", "en")


class OtpIncorrect(InvalidArgument):
    """``otp_incorrect``: the code did not match. ``attempts_left`` for this code (0: send a new one)."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__("otp_incorrect", f"the code is not correct; {attempts_left} attempts left")
        self.attempts_left = attempts_left


@dataclass(frozen=True, slots=True)
class OtpContext:
    """What a code is sent for and checked against; built by the verification use case from its session."""

    session_id: str
    applicant_id: str
    loan_application_id: str
    amount: Decimal
    currency: str
    lender_name: str
    locale: str
    phone_e164: str
    client_ip: str = ""
    device_id: str = ""

    def __post_init__(self) -> None:
        if not (self.session_id and self.applicant_id and self.loan_application_id):
            raise InvalidArgument("otp_context_invalid", "session, applicant and loan application ids are required")
        if not self.amount.is_finite() or self.amount <= 0:
            raise InvalidArgument("amount_invalid", "the amount must be a positive number")
        if not _CURRENCY.fullmatch(self.currency):
            raise InvalidArgument("currency_invalid", "the currency must be an ISO 4217 code such as CNY")
        if self.locale not in LOCALES:
            raise InvalidArgument("locale_unsupported", "locale must be zh-CN or en")


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What the caller may show: when the code expires, when a resend is allowed, its length, the masked phone."""

    expires_at: datetime
    resend_after: datetime
    code_length: int
    masked_phone: str


class ChallengeStatus(StrEnum):
    SENDING = "sending"  # stored, provider not yet confirmed: never checkable
    PENDING = "pending"  # delivered to the provider: checkable
    USED = "used"
    SUPERSEDED = "superseded"  # a newer code was sent
    FAILED = "failed"  # the provider refused or did not answer


@dataclass(frozen=True, slots=True)
class Challenge:
    """One code as stored: never the code itself."""

    challenge_id: str
    session_id: str
    applicant_id: str
    context_digest: bytes
    code_digest: bytes
    phone_hash: bytes
    phone_masked: str
    created_at: datetime
    expires_at: datetime
    attempts: int
    max_attempts: int
    status: ChallengeStatus


class SmsSender(Protocol):
    """Sends one text; returns the provider's message id. Raises InvalidArgument("phone_invalid"),
    ResourceExhausted("sms_rate_limited") or Unavailable("sms_unavailable")."""

    def send(self, to_e164: str, body: str) -> str: ...


class OtpStore(Protocol):
    """Codes of sessions. Each state change is one atomic conditional statement."""

    def create(self, challenge: Challenge) -> None: ...

    def activate(self, challenge_id: str, session_id: str, provider_message_id: str) -> None:
        """Make a SENDING code PENDING and mark the session's earlier PENDING codes SUPERSEDED."""

    def mark_failed(self, challenge_id: str) -> None: ...

    def latest(self, session_id: str) -> Challenge | None:
        """The newest code of the session that reached the provider (any status but SENDING and FAILED)."""

    def burn_attempt(self, challenge_id: str, now: datetime) -> int | None:
        """Count one check if the code is PENDING, unexpired and has attempts left; return attempts used, else None."""

    def consume(self, challenge_id: str, now: datetime) -> bool:
        """PENDING -> USED; False when it was not PENDING (a concurrent check won)."""


class CounterStore(Protocol):
    """Shared counters: fixed windows, exclusive cool-downs and the applicant lockout."""

    def hit(self, key: str, window_start: datetime, expires_at: datetime) -> int:
        """Add one to the window's count and return the new count (atomic)."""

    def release(self, key: str, window_start: datetime) -> None:
        """Give back one hit (never below zero)."""

    def claim(self, key: str, now: datetime, until: datetime) -> datetime | None:
        """Take the cool-down ``key`` until ``until`` if free at ``now``: None; else when the current one ends."""

    def release_claim(self, key: str, until: datetime, now: datetime) -> None:
        """End our own claim (the one ending at ``until``) early."""

    def reserve_guess(self, subject: str, now: datetime, policy: LockoutPolicy) -> tuple[bool, LockoutState]:
        """Atomically apply ``policy.reserve``: (True, new state) or (False, the state that refused)."""

    def clear_guesses(self, subject: str) -> None:
        """A success (or an operator) clears the consecutive failures."""

    def lockout_state(self, subject: str) -> LockoutState:
        """The applicant's consecutive failures and lock, without changing them."""
