"""Limits on one-time codes: plain configuration and the pure decisions taken from it.

Nothing here touches storage. The counters that feed these decisions live in the database
(``idverify.storage.counters``) so the limits hold across replicas; this module only says what a count means.

Why each limit exists:

- checks per code, sends per session, resend cool-down: an attacker holding one session gets few guesses and
  cannot flood the applicant's phone;
- sends per phone (hour and day), per client IP and per device (hour): bound what one caller can make us send;
- destination-country allowlist and the per-prefix velocity guard: SMS pumping ("toll fraud") sends codes to ranges
  of premium numbers the attacker is paid for, usually abroad and usually consecutive numbers;
- the applicant lockout (growing waits after consecutive failures, a hard lock after ``hard_limit`` in a row) holds
  across sessions, so opening new sessions does not buy new guesses (NIST SP 800-63B 5.2.2: at most 100 consecutive
  failed attempts on one subscriber account).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from idverify.domain.errors import InvalidArgument

MAX_TTL_S = 600
"""A code is never valid for more than 10 minutes, whatever the configuration says."""

_E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
_CALLING_CODE = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)


@dataclass(frozen=True, slots=True)
class WindowLimit:
    """At most ``limit`` events per fixed window of ``window_s`` seconds (0 disables the limit)."""

    limit: int
    window_s: int

    def __post_init__(self) -> None:
        if self.limit < 0 or self.window_s <= 0:
            raise ValueError("a window limit needs limit >= 0 and window_s > 0")

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The fixed window holding ``now``: (start, end). Windows are aligned on the Unix epoch."""
        epoch = int(now.timestamp())
        start_s = epoch - epoch % self.window_s
        start = datetime.fromtimestamp(start_s, UTC)
        return start, start + timedelta(seconds=self.window_s)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Growing waits after consecutive failed guesses by one applicant, across sessions and factors.

    A guess is *reserved* (counted as a failure) before it is compared, and the count is cleared by a success; so
    concurrent guesses can never slip past the limit. After ``free_failures`` consecutive failures the applicant
    waits ``base_wait_s``, doubling with each further failure up to ``max_wait_s``. After ``hard_limit``
    consecutive failures nothing is accepted until an operator resets the applicant.
    """

    free_failures: int = 5
    base_wait_s: int = 60
    max_wait_s: int = 3600
    hard_limit: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.free_failures <= self.hard_limit <= 100:
            raise ValueError("lockout needs 1 <= free_failures <= hard_limit <= 100 (NIST SP 800-63B)")
        if not 0 < self.base_wait_s <= self.max_wait_s:
            raise ValueError("lockout needs 0 < base_wait_s <= max_wait_s")

    def wait_after(self, failures: int) -> timedelta | None:
        """The wait imposed once ``failures`` consecutive failures have been counted (None: no wait)."""
        if failures < self.free_failures:
            return None
        doublings = min(failures - self.free_failures, 32)
        return timedelta(seconds=min(self.base_wait_s * 2**doublings, self.max_wait_s))

    def reserve(self, state: LockoutState, now: datetime) -> LockoutState | None:
        """The state after reserving one more guess, or None when the applicant is locked (see :meth:`refusal`)."""
        if state.failures >= self.hard_limit:
            return None
        if state.locked_until is not None and state.locked_until > now:
            return None
        failures = state.failures + 1
        wait = self.wait_after(failures)
        return LockoutState(failures=failures, locked_until=now + wait if wait is not None else None)

    def refusal(self, state: LockoutState, now: datetime) -> tuple[str, float | None]:
        """Reason code and retry-after seconds for a refused reservation (None: only an operator can unlock)."""
        if state.failures >= self.hard_limit:
            return "otp_locked_permanently", None
        until = state.locked_until or now
        return "otp_locked", max(1.0, (until - now).total_seconds())


@dataclass(frozen=True, slots=True)
class LockoutState:
    """Consecutive failures of one applicant and the time before which no guess is taken."""

    failures: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class OtpLimits:
    """Every configurable number of the SMS code factor. Invalid values raise ValueError at start-up."""

    code_length: int = 6
    ttl_s: int = 300
    max_checks_per_code: int = 5
    max_sends_per_session: int = 5
    session_window_s: int = 86_400
    resend_cooldown_s: int = 30
    phone_per_hour: WindowLimit = WindowLimit(5, 3600)
    phone_per_day: WindowLimit = WindowLimit(10, 86_400)
    ip_per_hour: WindowLimit = WindowLimit(30, 3600)
    device_per_hour: WindowLimit = WindowLimit(10, 3600)
    prefix_digits: int = 10
    prefix_velocity: WindowLimit = WindowLimit(20, 600)
    allowed_calling_codes: tuple[str, ...] = ("86",)
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)

    def __post_init__(self) -> None:
        if not 6 <= self.code_length <= 8:
            raise ValueError("code_length must be 6, 7 or 8")
        if not 60 <= self.ttl_s <= MAX_TTL_S:
            raise ValueError(f"ttl_s must be between 60 and {MAX_TTL_S}")
        if not 1 <= self.max_checks_per_code <= 10:
            raise ValueError("max_checks_per_code must be between 1 and 10")
        if not 1 <= self.max_sends_per_session <= 20:
            raise ValueError("max_sends_per_session must be between 1 and 20")
        if self.session_window_s < self.ttl_s or self.resend_cooldown_s < 0:
            raise ValueError("session_window_s must cover a code's life and resend_cooldown_s be >= 0")
        if not 4 <= self.prefix_digits <= 14:
            raise ValueError("prefix_digits must be between 4 and 14")
        if not self.allowed_calling_codes:
            raise ValueError("allowed_calling_codes must name at least one country calling code")
        for cc in self.allowed_calling_codes:
            if not _CALLING_CODE.fullmatch(cc):
                raise ValueError(f"not an E.164 country calling code: {cc!r}")

    @property
    def session_limit(self) -> WindowLimit:
        return WindowLimit(self.max_sends_per_session, self.session_window_s)


def validate_phone(phone_e164: str, allowed_calling_codes: tuple[str, ...]) -> str:
    """Return the number if it is E.164 and its country is allowed; raise InvalidArgument otherwise.

    Country calling codes are prefix-free (ITU-T E.164), so a plain prefix test is exact.
    """
    if not _E164.fullmatch(phone_e164):
        raise InvalidArgument("phone_invalid", "the phone number must be in E.164 form, e.g. +8613800000000")
    digits = phone_e164[1:]
    if not any(digits.startswith(cc) for cc in allowed_calling_codes):
        raise InvalidArgument("phone_country_not_allowed", "codes cannot be sent to this country")
    return phone_e164


def phone_prefix(phone_e164: str, digits: int) -> str:
    """The first ``digits`` digits of the number (country code included), the unit of the pumping guard."""
    return phone_e164[1 : 1 + digits]


def mask_phone(phone_e164: str) -> str:
    """A form safe to show and store: country code and the last four digits, e.g. ``+86*******5678``."""
    keep_head = 3 if len(phone_e164) > 10 else 2
    return phone_e164[:keep_head] + "*" * (len(phone_e164) - keep_head - 4) + phone_e164[-4:]


def retry_after(window_end: datetime, now: datetime) -> float:
    """Seconds until a window ends, at least one."""
    return max(1.0, (window_end - now).total_seconds())
