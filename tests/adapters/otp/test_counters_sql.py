"""The counter primitives on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

import idverify.storage.tables_otp  # noqa: F401  (registers the tables before the engine fixture creates them)
from idverify.factors.otp_limits import LockoutPolicy
from idverify.storage.counters import SqlCounterStore
from tests.adapters.otp.harness import hammer

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_hits_count_up_per_window_and_release_never_goes_below_zero(engine: Engine) -> None:
    c = SqlCounterStore(engine)
    end = T0 + timedelta(hours=1)
    assert [c.hit("k", T0, end) for _ in range(3)] == [1, 2, 3]
    assert c.hit("k", end, end + timedelta(hours=1)) == 1
    for _ in range(5):
        c.release("k", T0)
    assert c.count("k", T0) == 0


def test_sixteen_concurrent_hits_each_see_a_distinct_count(engine: Engine) -> None:
    c = SqlCounterStore(engine)
    seen = hammer(lambda _: c.hit("race", T0, T0 + timedelta(hours=1)))
    assert sorted(seen) == list(range(1, 17))  # type: ignore[type-var]


def test_a_claim_is_exclusive_until_it_ends_or_is_released(engine: Engine) -> None:
    c = SqlCounterStore(engine)
    until = T0 + timedelta(seconds=30)
    assert c.claim("cd", T0, until) is None
    assert c.claim("cd", T0 + timedelta(seconds=10), T0 + timedelta(seconds=40)) == until
    c.release_claim("cd", until, T0 + timedelta(seconds=10))
    assert c.claim("cd", T0 + timedelta(seconds=10), T0 + timedelta(seconds=40)) is None
    assert c.claim("cd", T0 + timedelta(seconds=40), T0 + timedelta(seconds=70)) is None


def test_only_one_of_sixteen_concurrent_claims_wins(engine: Engine) -> None:
    c = SqlCounterStore(engine)
    results = hammer(lambda _: c.claim("cd", T0, T0 + timedelta(seconds=30)))
    assert results.count(None) == 1


def test_sixteen_concurrent_reservations_never_pass_the_free_failures(engine: Engine) -> None:
    c = SqlCounterStore(engine)
    results = hammer(lambda _: c.reserve_guess("applicant:x", T0, LockoutPolicy()))
    granted = [r for r in results if isinstance(r, tuple) and r[0]]
    assert len(granted) == 5
    assert c.lockout_state("applicant:x").locked_until == T0 + timedelta(minutes=1)


def test_purge_removes_ended_windows_and_claims(engine: Engine) -> None:
    c = SqlCounterStore(engine)
    c.hit("old", T0, T0 + timedelta(minutes=10))
    c.hit("live", T0, T0 + timedelta(hours=2))
    c.claim("cd", T0, T0 + timedelta(seconds=30))
    assert c.purge(T0 + timedelta(hours=1)) == 2
    assert c.count("live", T0) == 1
    assert c.count("old", T0) == 0
