"""Time-based one-time passwords (RFC 6238) from an authenticator app.

The algorithm is a dozen lines of ``hmac`` (RFC 4226 dynamic truncation of an HMAC over the time step), so the
factor stays standard-library only; the tests check it against the RFC 6238 appendix B vectors and against pyotp as
an independent implementation, including pyotp reading our provisioning URI. The secret never leaves the process in
the clear after enrolment: the store seals it (AES-GCM, associated data = applicant id).

Rules: one step of drift either way (``valid_window=1``); a time step, once accepted, is never accepted again, nor
any step before it (replay inside the window is refused with ``totp_replayed``); every guess counts against the
applicant lockout shared with SMS codes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote, urlencode

from idverify.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
)
from idverify.domain.ports import Clock, Random
from idverify.factors.otp import CounterStore, applicant_subject, is_well_formed
from idverify.factors.otp_limits import LockoutPolicy

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_SECRET_BYTES = {"sha1": 20, "sha256": 32, "sha512": 64}


@dataclass(frozen=True, slots=True)
class TotpConfig:
    """Authenticator parameters. Most apps only honour the defaults (SHA1, 6 digits, 30 s)."""

    digits: int = 6
    period_s: int = 30
    algorithm: str = "sha1"
    valid_window: int = 1
    issuer: str = "idverify"

    def __post_init__(self) -> None:
        if self.digits not in (6, 7, 8) or self.algorithm not in _DIGESTS:
            raise ValueError("TOTP needs 6-8 digits and sha1, sha256 or sha512")
        if not 15 <= self.period_s <= 120 or not 0 <= self.valid_window <= 2:
            raise ValueError("TOTP period must be 15-120 s and valid_window 0-2")


@dataclass(frozen=True, slots=True)
class TotpRecord:
    """An applicant's authenticator. ``secret`` is plaintext in memory only; stores seal it."""

    applicant_id: str
    secret: bytes
    digits: int
    period_s: int
    algorithm: str
    last_counter: int | None = None


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """Returned once, at enrolment: show the URI as a QR code, then forget it."""

    provisioning_uri: str


class TotpStore(Protocol):
    def add(self, record: TotpRecord, now: datetime) -> bool:
        """Store a new authenticator; False when the applicant already has one."""

    def get(self, applicant_id: str) -> TotpRecord | None: ...

    def advance(self, applicant_id: str, counter: int) -> bool:
        """Record ``counter`` as accepted if it is later than the last accepted one (atomic); else False."""

    def remove(self, applicant_id: str) -> bool: ...


def totp_at(secret: bytes, counter: int, digits: int, algorithm: str) -> str:
    """The code of time step ``counter``: RFC 4226 HOTP of the step number (RFC 6238 section 4)."""
    mac = hmac.new(secret, counter.to_bytes(8, "big"), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def provisioning_uri(secret: bytes, account_name: str, config: TotpConfig) -> str:
    """The ``otpauth://totp/`` URI authenticator apps read from a QR code (Google Authenticator key-uri format)."""
    label = quote(f"{config.issuer}:{account_name}", safe="@:")
    params = {"secret": _b32(secret), "issuer": config.issuer}
    if config.algorithm != "sha1":
        params["algorithm"] = config.algorithm.upper()
    if config.digits != 6:
        params["digits"] = str(config.digits)
    if config.period_s != 30:
        params["period"] = str(config.period_s)
    return f"otpauth://totp/{label}?{urlencode(params, quote_via=quote)}"


def time_step(at: datetime, period_s: int) -> int:
    return int(at.timestamp()) // period_s


def _b32(secret: bytes) -> str:
    return base64.b32encode(secret).decode("ascii").rstrip("=")


class TotpService:
    """Enrols authenticators and verifies their codes."""

    def __init__(
        self,
        *,
        store: TotpStore,
        counters: CounterStore,
        clock: Clock,
        random: Random,
        config: TotpConfig | None = None,
        lockout: LockoutPolicy | None = None,
    ) -> None:
        self._store = store
        self._counters = counters
        self._clock = clock
        self._random = random
        self._config = config or TotpConfig()
        self._lockout = lockout or LockoutPolicy()

    def using(self, store: TotpStore, counters: CounterStore) -> TotpService:
        """This service on other stores (a unit of work's), so a check joins that transaction."""
        bound = copy.copy(self)
        bound._store, bound._counters = store, counters
        return bound

    def enroll(self, applicant_id: str, account_name: str) -> TotpEnrolment:
        """Create the applicant's secret and return its provisioning URI; the only time it is ever returned.

        Raises AlreadyExists(``totp_already_enrolled``): remove the old authenticator first.
        """
        cfg = self._config
        secret = self._random.token_bytes(_SECRET_BYTES[cfg.algorithm])
        record = TotpRecord(applicant_id, secret, cfg.digits, cfg.period_s, cfg.algorithm)
        if not self._store.add(record, self._clock.now()):
            raise AlreadyExists("totp_already_enrolled", "an authenticator is already enrolled")
        return TotpEnrolment(provisioning_uri(secret, account_name, cfg))

    def verify(self, applicant_id: str, code: str) -> None:
        """Accept ``code`` once, or raise.

        InvalidArgument: ``otp_malformed`` (not counted), ``totp_incorrect``. FailedPrecondition:
        ``totp_not_enrolled``, ``totp_replayed``. ResourceExhausted: ``otp_locked``, ``otp_locked_permanently``.
        """
        record = self._store.get(applicant_id)
        digits = record.digits if record is not None else self._config.digits
        if not is_well_formed(code, digits):
            raise InvalidArgument("otp_malformed", f"the code must be {digits} digits")
        if record is None:
            raise FailedPrecondition("totp_not_enrolled", "no authenticator is enrolled")
        now = self._clock.now()
        subject = applicant_subject(applicant_id)
        allowed, state = self._counters.reserve_guess(subject, now, self._lockout)
        if not allowed:
            reason, wait = self._lockout.refusal(state, now)
            raise ResourceExhausted(reason, "too many failed codes; try again later", retry_after_s=wait)
        current = time_step(now, record.period_s)
        window = self._config.valid_window
        matched = None
        for counter in range(current - window, current + window + 1):
            expected = totp_at(record.secret, counter, record.digits, record.algorithm)
            if hmac.compare_digest(expected.encode(), code.encode()):
                matched = counter
                break
        if matched is None:
            raise InvalidArgument("totp_incorrect", "the code is not correct")
        replayed = record.last_counter is not None and matched <= record.last_counter
        if replayed or not self._store.advance(applicant_id, matched):
            raise FailedPrecondition("totp_replayed", "this code was already used; wait for the next one")
        self._counters.clear_guesses(subject)

    def remove(self, applicant_id: str) -> None:
        """Forget the applicant's authenticator (after loss of the device, or before re-enrolling)."""
        if not self._store.remove(applicant_id):
            raise FailedPrecondition("totp_not_enrolled", "no authenticator is enrolled")
