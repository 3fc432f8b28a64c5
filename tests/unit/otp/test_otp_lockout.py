"""The applicant lockout: growing waits across sessions, a hard lock at 100 consecutive failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idverify.domain.errors import FailedPrecondition, ResourceExhausted
from idverify.factors.otp import OtpContext, OtpIncorrect
from idverify.factors.otp_limits import LockoutPolicy, LockoutState, OtpLimits, WindowLimit
from tests.unit.otp.memory import MemoryCounterStore
from tests.unit.otp.test_otp_service import World, ctx

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
MANY = WindowLimit(10_000, 3600)


def test_waits_start_after_five_failures_and_double_up_to_the_cap() -> None:
    policy = LockoutPolicy(free_failures=5, base_wait_s=60, max_wait_s=600)
    waits = [policy.wait_after(n) for n in range(1, 11)]
    assert waits[:4] == [None] * 4
    assert [w.total_seconds() if w else None for w in waits[4:]] == [60, 120, 240, 480, 600, 600]


def test_reserving_counts_the_guess_before_it_is_compared() -> None:
    policy = LockoutPolicy()
    state = LockoutState()
    for n in range(1, 5):
        new = policy.reserve(state, NOW)
        assert new is not None
        assert new.failures == n
        assert new.locked_until is None
        state = new
    fifth = policy.reserve(state, NOW)
    assert fifth is not None
    assert fifth.locked_until == NOW + timedelta(minutes=1)
    assert policy.reserve(fifth, NOW + timedelta(seconds=59)) is None
    assert policy.refusal(fifth, NOW + timedelta(seconds=59)) == ("otp_locked", 1.0)


def test_one_hundred_consecutive_failures_lock_until_an_operator_resets() -> None:
    policy = LockoutPolicy()
    state = LockoutState(failures=100, locked_until=None)
    assert policy.reserve(state, NOW + timedelta(days=365)) is None
    assert policy.refusal(state, NOW) == ("otp_locked_permanently", None)
    with pytest.raises(ValueError):
        LockoutPolicy(hard_limit=101)


def _limits() -> OtpLimits:
    return OtpLimits(
        phone_per_hour=MANY, phone_per_day=WindowLimit(10_000, 86_400), ip_per_hour=MANY,
        device_per_hour=MANY, prefix_velocity=WindowLimit(10_000, 600),
    )


def test_new_sessions_do_not_buy_new_guesses() -> None:
    w = World(_limits())
    for i in range(5):
        w.service.send(ctx(session=f"s{i}"))
        with pytest.raises(OtpIncorrect):
            w.service.check(ctx(session=f"s{i}"), "000000" if w.sender.last_code() != "000000" else "111111")
    sent = len(w.sender.sent)
    with pytest.raises(ResourceExhausted) as err:
        w.service.send(ctx(session="s5"))  # a locked applicant is not even sent a code
    assert err.value.code == "otp_locked"
    assert err.value.retry_after_s == 60
    assert len(w.sender.sent) == sent
    w.clock.advance(60)
    w.service.send(ctx(session="s5"))
    w.service.check(ctx(session="s5"), w.sender.last_code())  # a success clears the count
    counters = w.counters
    assert isinstance(counters, MemoryCounterStore)
    assert counters.lockouts["applicant:app-1"].failures == 0


def send_when_allowed(w: World, context: OtpContext, refusals: list[str]) -> bool:
    """The attacker's send: wait out temporary locks; False once the applicant is locked for good."""
    while True:
        try:
            w.service.send(context)
            return True
        except ResourceExhausted as err:
            refusals.append(err.code)
            if err.retry_after_s is None:
                return False
            w.clock.advance(err.retry_after_s)


def test_brute_force_across_sessions_never_exceeds_one_hundred_guesses() -> None:
    """Guess as fast as the lockout allows, a fresh session whenever a code runs out, for simulated months."""
    w = World(_limits())
    guesses = 0
    session = 0
    refusals: list[str] = []
    w.service.send(ctx(session="b0"))
    for _ in range(400):
        try:
            w.service.check(ctx(session=f"b{session}"), "000000")
        except OtpIncorrect as err:
            guesses += 1
            if err.attempts_left == 0:
                session += 1
                if not send_when_allowed(w, ctx(session=f"b{session}"), refusals):
                    break
        except FailedPrecondition as err:  # the code outlived the waits: a new session, a new code
            refusals.append(err.code)
            session += 1
            if not send_when_allowed(w, ctx(session=f"b{session}"), refusals):
                break
        except ResourceExhausted as err:
            refusals.append(err.code)
            if err.retry_after_s is None:
                break
            w.clock.advance(err.retry_after_s)
    assert guesses == 100
    assert set(refusals) <= {"otp_locked", "otp_expired", "otp_locked_permanently"}
    assert refusals[-1] == "otp_locked_permanently"
