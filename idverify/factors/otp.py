"""One-time codes sent by SMS, bound to the loan they approve.

A code is stored only as ``HMAC-SHA256(key, session | applicant | loan application | amount | currency | code)``,
so it approves exactly the loan the applicant was shown (dynamic linking): a changed amount or application needs a
new code. Codes are compared in constant time, accepted once, and expire after a few minutes.

Every guess is counted *before* it is compared: against the code (``max_checks_per_code``) and against the
lockouts of the applicant (across all sessions and factors), the phone, the device and the client IP (see
:mod:`idverify.factors.otp_limits`), so many applicant ids sharing one phone get no more guesses than one. The
counts are atomic in the store, so concurrent guesses cannot exceed them; the price is that a guess that loses a
race is still counted, which errs on the safe side.

A send that failed (the provider raised) does not count as a code the user could have received: the new code is
never made checkable, an earlier code stays valid, and the send is given back to the per-session limit and the
resend cool-down. It still counts against the pumping guards (phone, IP, device, prefix): a failed or timed-out
request may still have been delivered and billed, and an attacker able to provoke failures must not get free sends.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from idverify.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
)
from idverify.domain.ports import Clock, Random
from idverify.factors import messages_otp
from idverify.factors.otp_limits import (
    OtpLimits,
    WindowLimit,
    mask_phone,
    phone_prefix,
    retry_after,
    validate_phone,
)
from idverify.factors.otp_model import (
    LOCALES,
    Challenge,
    ChallengeStatus,
    CounterStore,
    OtpContext,
    OtpIncorrect,
    OtpStore,
    SendReceipt,
    SmsSender,
)

__all__ = [
    "LOCALES", "Challenge", "ChallengeStatus", "CounterStore", "OtpContext", "OtpIncorrect", "OtpService", "OtpStore",
    "SendReceipt", "SmsSender", "applicant_subject", "is_well_formed",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_Hit = tuple[str, datetime]  # (counter key, window start) taken by one send, given back if the send does not happen


class _Derived:
    """Sub-keys derived from the one digest key, so code digests and blind indexes never share a key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the OTP digest key must be at least 32 bytes")
        self.code = hmac.new(key, b"idverify/otp/code/v1", hashlib.sha256).digest()
        self.blind = hmac.new(key, b"idverify/otp/blind-index/v1", hashlib.sha256).digest()

    def blind_index(self, kind: str, value: str) -> bytes:
        return hmac.new(self.blind, _encode((kind, value)), hashlib.sha256).digest()


def _encode(parts: tuple[str, ...]) -> bytes:
    """Length-prefixed fields: no separator inside a value can make two contexts collide."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def _context_fields(ctx: OtpContext) -> tuple[str, ...]:
    amount = format(ctx.amount.normalize(), "f")  # 12000 and 12000.00 are the same amount
    return (ctx.session_id, ctx.applicant_id, ctx.loan_application_id, amount, ctx.currency)


def is_well_formed(code: str, length: int) -> bool:
    """Exactly ``length`` ASCII digits (full-width digits, spaces and letters are refused)."""
    return len(code) == length and all("0" <= ch <= "9" for ch in code)


class OtpService:
    """Sends and checks SMS codes for verification sessions."""

    def __init__(
        self,
        *,
        store: OtpStore,
        counters: CounterStore,
        sender: SmsSender,
        clock: Clock,
        random: Random,
        digest_key: bytes,
        limits: OtpLimits | None = None,
        report_contact: str = "",
    ) -> None:
        """``digest_key`` (>= 32 bytes) keys the code digests and the blind indexes of phones, IPs and devices;
        changing it invalidates live codes and resets the send counters. ``report_contact`` (a short URL or phone
        number) goes into the texts' "not you?" line; empty names the lender instead."""
        self._store = store
        self._counters = counters
        self._sender = sender
        self._clock = clock
        self._random = random
        self._keys = _Derived(digest_key)
        self._limits = limits or OtpLimits()
        self._report_contact = report_contact

    def using(self, store: OtpStore, counters: CounterStore, sender: SmsSender | None = None) -> OtpService:
        """This service on other stores (a unit of work's), so a send or a check joins that transaction."""
        bound = copy.copy(self)
        bound._store, bound._counters = store, counters
        if sender is not None:
            bound._sender = sender
        return bound

    def send(self, ctx: OtpContext) -> SendReceipt:
        """Send a new code for ``ctx``; an earlier code of the session stays valid until this one is delivered.

        Raises InvalidArgument (``phone_invalid``, ``phone_country_not_allowed``), ResourceExhausted (a limit, with
        ``retry_after_s``), and whatever the SmsSender raised.
        """
        lim = self._limits
        validate_phone(ctx.phone_e164, lim.allowed_calling_codes)
        now = self._clock.now()
        # A locked applicant or phone could not use a code, so none is sent: no cost, nothing for a pumping attacker.
        for subject in (self._applicant_subject(ctx), self._phone_subject(ctx)):
            state = self._counters.lockout_state(subject)
            if lim.lockout.reserve(state, now) is None:
                reason, wait = lim.lockout.refusal(state, now)
                raise ResourceExhausted(reason, "too many failed codes; try again later", retry_after_s=wait)
        resend_after = now + timedelta(seconds=lim.resend_cooldown_s)
        cooldown_key = self._key("cooldown", ctx.session_id)
        if lim.resend_cooldown_s > 0:
            busy_until = self._counters.claim(cooldown_key, now, resend_after)
            if busy_until is not None:
                wait = retry_after(busy_until, now)
                raise ResourceExhausted("otp_resend_too_soon", "wait before asking for a new code", retry_after_s=wait)
        session_hit: list[_Hit] = []
        guard_hits: list[_Hit] = []
        try:
            session = lim.session_limit
            self._hit("otp_session_send_limit", "session", ctx.session_id, limit=session, now=now, taken=session_hit)
            for reason, kind, value, limit in self._pumping_guards(ctx):
                self._hit(reason, kind, value, limit=limit, now=now, taken=guard_hits)
        except ResourceExhausted:
            self._give_back(session_hit + guard_hits)
            self._end_cooldown(cooldown_key, resend_after, now)
            raise

        challenge, code = self._new_challenge(ctx, now)
        self._store.create(challenge)
        body = messages_otp.code_text(
            ctx.locale, code, ctx.lender_name, ctx.amount, ctx.currency, lim.ttl_s // 60, self._report_contact
        )
        try:
            message_id = self._sender.send(ctx.phone_e164, body)
        except BaseException:
            self._store.mark_failed(challenge.challenge_id)
            self._give_back(session_hit)
            self._end_cooldown(cooldown_key, resend_after, now)
            raise
        self._store.activate(challenge.challenge_id, ctx.session_id, message_id)
        return SendReceipt(
            expires_at=challenge.expires_at,
            resend_after=resend_after,
            code_length=lim.code_length,
            masked_phone=challenge.phone_masked,
        )

    def check(self, ctx: OtpContext, code: str) -> None:
        """Accept ``code`` for ``ctx`` once, or raise.

        InvalidArgument: ``otp_malformed`` (no attempt used), :class:`OtpIncorrect` (``otp_incorrect``).
        FailedPrecondition: ``otp_not_sent``, ``otp_expired``, ``otp_already_used``, ``otp_context_changed``.
        ResourceExhausted: ``otp_attempts_exhausted``, ``otp_locked``, ``otp_locked_permanently``.
        """
        lim = self._limits
        if not is_well_formed(code, lim.code_length):
            raise InvalidArgument("otp_malformed", f"the code must be {lim.code_length} digits")
        now = self._clock.now()
        challenge = self._store.latest(ctx.session_id)
        self._refuse_unusable(challenge, ctx, now)
        assert challenge is not None
        # One guess is reserved against every subject it could be aimed at, in a fixed order (no lock-order
        # deadlocks between concurrent checks): many applicant ids sharing one phone, device or IP share its budget.
        for subject in sorted(self._guess_subjects(ctx)):
            allowed, state = self._counters.reserve_guess(subject, now, lim.lockout)
            if not allowed:
                reason, wait = lim.lockout.refusal(state, now)
                raise ResourceExhausted(reason, "too many failed codes; try again later", retry_after_s=wait)
        used = self._store.burn_attempt(challenge.challenge_id, now)
        if used is None:  # lost a race: consumed, exhausted, expired or superseded since we read it
            again = self._store.latest(ctx.session_id)
            if again is not None and again.challenge_id == challenge.challenge_id:
                self._refuse_unusable(again, ctx, now)
                raise ResourceExhausted("otp_attempts_exhausted", "no attempts left; ask for a new code")
            raise FailedPrecondition("otp_expired", "a newer code was sent; use that one")
        expected = self._code_digest(ctx, code)
        if not hmac.compare_digest(expected, challenge.code_digest):
            raise OtpIncorrect(max(0, challenge.max_attempts - used))
        if not self._store.consume(challenge.challenge_id, now):
            raise FailedPrecondition("otp_already_used", "this code was already used")
        for subject in self._guess_subjects(ctx):
            self._counters.clear_guesses(subject)

    def reset_guesses(self, ctx: OtpContext) -> None:
        """An operator's reset after a hard lock: clears the lockouts of the applicant, the phone, the device and
        the IP of ``ctx`` (a person has checked who is asking)."""
        for subject in self._guess_subjects(ctx):
            self._counters.clear_guesses(subject)

    def _refuse_unusable(self, challenge: Challenge | None, ctx: OtpContext, now: datetime) -> None:
        if challenge is None:
            raise FailedPrecondition("otp_not_sent", "no code was sent for this session")
        if challenge.status is ChallengeStatus.USED:
            raise FailedPrecondition("otp_already_used", "this code was already used")
        if not hmac.compare_digest(challenge.context_digest, self._context_digest(ctx)):
            raise FailedPrecondition("otp_context_changed", "the loan changed since the code was sent; send a new one")
        if challenge.status is not ChallengeStatus.PENDING or now >= challenge.expires_at:
            raise FailedPrecondition("otp_expired", "the code has expired; ask for a new one")
        if challenge.attempts >= challenge.max_attempts:
            raise ResourceExhausted("otp_attempts_exhausted", "no attempts left; ask for a new code")

    def _pumping_guards(self, ctx: OtpContext) -> list[tuple[str, str, str, WindowLimit]]:
        lim = self._limits
        guards = [
            ("otp_phone_hourly_limit", "phone_h", ctx.phone_e164, lim.phone_per_hour),
            ("otp_phone_daily_limit", "phone_d", ctx.phone_e164, lim.phone_per_day),
            ("otp_prefix_velocity_limit", "prefix", phone_prefix(ctx.phone_e164, lim.prefix_digits),
             lim.prefix_velocity),
        ]
        if ctx.client_ip:
            guards.append(("otp_ip_hourly_limit", "ip", ctx.client_ip, lim.ip_per_hour))
        if ctx.device_id:
            guards.append(("otp_device_hourly_limit", "device", ctx.device_id, lim.device_per_hour))
        return guards

    def _hit(
        self, reason: str, kind: str, value: str, *, limit: WindowLimit, now: datetime, taken: list[_Hit]
    ) -> None:
        if not limit.enabled:
            return
        key = self._key(kind, value)
        if kind == "session":
            # One window for the session's whole life, not a calendar window it could straddle.
            start, end, retry = _EPOCH, now + timedelta(seconds=limit.window_s), None
        else:
            start, end = limit.window(now)
            retry = retry_after(end, now)
        count = self._counters.hit(key, start, end)
        taken.append((key, start))
        if count > limit.limit:
            raise ResourceExhausted(reason, "too many codes requested; try again later", retry_after_s=retry)

    def _give_back(self, hits: list[_Hit]) -> None:
        for key, start in hits:
            self._counters.release(key, start)

    def _end_cooldown(self, key: str, until: datetime, now: datetime) -> None:
        if self._limits.resend_cooldown_s > 0:
            self._counters.release_claim(key, until, now)

    def _new_challenge(self, ctx: OtpContext, now: datetime) -> tuple[Challenge, str]:
        lim = self._limits
        code = str(self._random.randbelow(10**lim.code_length)).zfill(lim.code_length)
        challenge = Challenge(
            challenge_id=self._random.token_bytes(16).hex(),
            session_id=ctx.session_id,
            applicant_id=ctx.applicant_id,
            context_digest=self._context_digest(ctx),
            code_digest=self._code_digest(ctx, code),
            phone_hash=self._keys.blind_index("phone", ctx.phone_e164),
            phone_masked=mask_phone(ctx.phone_e164),
            created_at=now,
            expires_at=now + timedelta(seconds=lim.ttl_s),
            attempts=0,
            max_attempts=lim.max_checks_per_code,
            status=ChallengeStatus.SENDING,
        )
        return challenge, code

    def _code_digest(self, ctx: OtpContext, code: str) -> bytes:
        return hmac.new(self._keys.code, _encode((*_context_fields(ctx), code)), hashlib.sha256).digest()

    def _context_digest(self, ctx: OtpContext) -> bytes:
        return hmac.new(self._keys.code, _encode(("context", *_context_fields(ctx))), hashlib.sha256).digest()

    def _key(self, kind: str, value: str) -> str:
        """Counter keys carry no personal data: a keyed hash of the phone, IP, device or session."""
        return f"otp:{kind}:{self._keys.blind_index(kind, value)[:16].hex()}"

    def _applicant_subject(self, ctx: OtpContext) -> str:
        return applicant_subject(ctx.applicant_id)

    def _phone_subject(self, ctx: OtpContext) -> str:
        return f"phone:{self._keys.blind_index('guess_phone', ctx.phone_e164)[:16].hex()}"

    def _guess_subjects(self, ctx: OtpContext) -> list[str]:
        """Every lockout a guess counts against: the applicant, the phone, and the device and IP when known.
        Keys of phones, devices and IPs are keyed hashes (no personal data in the counters table).

        A correct code clears them all: it proves possession of the phone, and the per-phone count is what bounds
        the guesses any one phone can receive (docs/threat-model.md, "Guessing budget")."""
        subjects = [self._applicant_subject(ctx), self._phone_subject(ctx)]
        if ctx.device_id:
            subjects.append(f"device:{self._keys.blind_index('guess_device', ctx.device_id)[:16].hex()}")
        if ctx.client_ip:
            subjects.append(f"ip:{self._keys.blind_index('guess_ip', ctx.client_ip)[:16].hex()}")
        return subjects


def applicant_subject(applicant_id: str) -> str:
    """The lockout key of an applicant; shared by every factor that takes guesses (SMS codes, TOTP)."""
    return f"applicant:{applicant_id}"
