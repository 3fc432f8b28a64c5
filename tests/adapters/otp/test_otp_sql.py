"""The SMS code factor on the real stores (SQLite and PostgreSQL): limits hold under 16-way concurrency."""

from __future__ import annotations

import dataclasses
import threading
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

import idverify.storage.tables_otp as tables_otp
from idverify.domain.errors import FailedPrecondition, ResourceExhausted
from idverify.factors.otp import OtpContext, OtpIncorrect, OtpService
from idverify.factors.otp_limits import LockoutPolicy, OtpLimits, WindowLimit
from idverify.storage.counters import SqlCounterStore
from idverify.storage.otp_store import SqlOtpStore
from tests.adapters.otp.harness import codes, hammer
from tests.fakes import FixedClock, SeededRandom

PHONE = "+8613812345678"
MANY = WindowLimit(10_000, 3600)
OPEN = OtpLimits(
    resend_cooldown_s=0,
    phone_per_hour=MANY,
    phone_per_day=WindowLimit(10_000, 86_400),
    ip_per_hour=MANY,
    device_per_hour=MANY,
    prefix_velocity=WindowLimit(10_000, 600),
)


class ThreadSafeSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, to_e164: str, body: str) -> str:
        with self._lock:
            self.sent.append((to_e164, body))
            return f"SM{len(self.sent):032d}"

    def code_in(self, i: int) -> str:
        return next(w for w in self.sent[i][1].replace(".", " ").split() if len(w) == 6 and w.isdigit())


class SeededThreadSafeRandom(SeededRandom):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def token_bytes(self, n: int) -> bytes:
        with self._lock:
            return super().token_bytes(n)

    def randbelow(self, n: int) -> int:
        with self._lock:
            return super().randbelow(n)


def ctx(session: str = "s1", **changes: object) -> OtpContext:
    base = OtpContext("s1", "app-1", "loan-1", Decimal("5000"), "CNY", "Acme", "en", PHONE, "203.0.113.9", "d1")
    return dataclasses.replace(base, session_id=session, **changes)  # type: ignore[arg-type]


class Rig:
    def __init__(self, engine: Engine, limits: OtpLimits = OPEN) -> None:
        self.engine = engine
        self.clock = FixedClock()
        self.sender = ThreadSafeSender()
        self.counters = SqlCounterStore(engine)
        self.store = SqlOtpStore(engine)
        self.service = OtpService(
            store=self.store, counters=self.counters, sender=self.sender, clock=self.clock,
            random=SeededThreadSafeRandom(), digest_key=b"q" * 32, limits=limits,
        )


def test_a_code_round_trips_through_the_database(engine: Engine) -> None:
    rig = Rig(engine, OtpLimits())
    receipt = rig.service.send(ctx())
    code = rig.sender.code_in(0)
    with engine.connect() as conn:
        row = conn.execute(select(tables_otp.otp_challenges)).one()._mapping
    assert row["status"] == "pending"
    assert row["phone_masked"] == receipt.masked_phone
    assert code.encode() not in b"".join(str(v).encode() for v in row.values())
    assert PHONE not in str(dict(row))
    rig.service.check(ctx(), code)
    with pytest.raises(FailedPrecondition) as err:
        rig.service.check(ctx(), code)
    assert err.value.code == "otp_already_used"


def test_sixteen_concurrent_sends_in_one_session_send_exactly_five(engine: Engine) -> None:
    rig = Rig(engine)
    results = hammer(lambda _: rig.service.send(ctx()))
    assert codes(results) == ["ok"] * 5 + ["otp_session_send_limit"] * 11
    assert len(rig.sender.sent) == 5


def test_sixteen_concurrent_sends_to_one_phone_respect_the_hourly_limit(engine: Engine) -> None:
    rig = Rig(engine, dataclasses.replace(OPEN, phone_per_hour=WindowLimit(3, 3600)))
    results = hammer(lambda i: rig.service.send(ctx(session=f"s{i}")))
    assert codes(results) == ["ok"] * 3 + ["otp_phone_hourly_limit"] * 13
    assert len(rig.sender.sent) == 3


def test_the_resend_cool_down_lets_one_of_sixteen_through(engine: Engine) -> None:
    rig = Rig(engine, dataclasses.replace(OPEN, resend_cooldown_s=30))
    results = hammer(lambda _: rig.service.send(ctx()))
    assert codes(results) == ["ok"] + ["otp_resend_too_soon"] * 15


def test_sixteen_concurrent_wrong_guesses_burn_exactly_five_attempts(engine: Engine) -> None:
    rig = Rig(engine, dataclasses.replace(OPEN, lockout=LockoutPolicy(free_failures=50)))
    rig.service.send(ctx())
    wrong = "000000" if rig.sender.code_in(0) != "000000" else "111111"
    results = hammer(lambda _: rig.service.check(ctx(), wrong))
    assert codes(results) == ["otp_attempts_exhausted"] * 11 + ["otp_incorrect"] * 5
    left = sorted(r.attempts_left for r in results if isinstance(r, OtpIncorrect))
    assert left == [0, 1, 2, 3, 4]


def test_sixteen_concurrent_correct_checks_accept_once(engine: Engine) -> None:
    rig = Rig(engine)
    rig.service.send(ctx())
    code = rig.sender.code_in(0)
    results = hammer(lambda _: rig.service.check(ctx(), code))
    assert results.count(None) == 1
    # the losers were counted as guesses before comparing, so some may meet the lockout instead
    assert set(codes(results)) <= {"ok", "otp_already_used", "otp_attempts_exhausted", "otp_locked"}


def test_concurrent_guessing_across_sixteen_sessions_stops_at_the_lockout(engine: Engine) -> None:
    rig = Rig(engine)
    for i in range(16):
        rig.service.send(ctx(session=f"g{i}"))
    results = hammer(lambda i: rig.service.check(ctx(session=f"g{i}"), "000000"), threads=16)
    wrong = [r for r in results if isinstance(r, OtpIncorrect)]
    assert len(wrong) + results.count(None) == 5  # five guesses were compared; the rest never were
    assert codes(results).count("otp_locked") == 16 - 5


@pytest.mark.slow
def send_when_allowed(rig: Rig, context: OtpContext) -> bool:
    """The attacker's send: wait out temporary locks; False once the applicant is locked for good."""
    while True:
        try:
            rig.service.send(context)
            return True
        except ResourceExhausted as err:
            if err.retry_after_s is None:
                return False
            rig.clock.advance(err.retry_after_s)


def test_brute_force_over_months_stops_after_one_hundred_guesses(engine: Engine) -> None:
    rig = Rig(engine)
    guesses, session, last = 0, 0, ""
    rig.service.send(ctx(session="b0"))
    for _ in range(300):
        try:
            rig.service.check(ctx(session=f"b{session}"), "000000")
        except OtpIncorrect:
            guesses += 1
        except FailedPrecondition:  # expired while waiting: a new session
            session += 1
            if not send_when_allowed(rig, ctx(session=f"b{session}")):
                last = "otp_locked_permanently"
                break
        except ResourceExhausted as err:
            last = err.code
            if err.code == "otp_attempts_exhausted":
                session += 1
                if not send_when_allowed(rig, ctx(session=f"b{session}")):
                    last = "otp_locked_permanently"
                    break
            elif err.retry_after_s is None:
                break
            else:
                rig.clock.advance(err.retry_after_s)
    assert guesses == 100
    assert last == "otp_locked_permanently"
    state = rig.counters.lockout_state("applicant:app-1")
    assert state.failures == 100
    rig.service.reset_guesses(ctx(session="after"))  # the operator's reset: applicant, phone, device and IP
    rig.service.send(ctx(session="after"))
    rig.service.check(ctx(session="after"), rig.sender.code_in(-1))
