"""The risk engine over the SQL signal store with generated traffic, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, select

from idverify.privacy import BlindIndex
from idverify.risk import (
    RiskDecision,
    RiskEngine,
    RiskEvent,
    SqlSignalStore,
    Subject,
    subject_from_identifiers,
)
from idverify.storage import tables_risk
from idverify.storage.engine import make_engine
from tests.fakes import FixedClock

INDEX = BlindIndex(b"\x07" * 32)
DAY = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # 14:00 Asia/Shanghai
NIGHT = datetime(2026, 11, 1, 18, 30, tzinfo=UTC)  # 02:30 Asia/Shanghai


def _subject(n: int, *, phone: int | None = None, device: str | None = None, ip: str | None = None,
             id_number: str | None = None) -> Subject:  # fmt: skip
    return subject_from_identifiers(
        INDEX,
        tenant="lender-a",
        applicant_id=f"app-{n}",
        phone=f"+86138{(phone if phone is not None else n):08d}",
        device_id=device or f"device-{n}",
        ip=ip or f"10.0.{n // 250}.{n % 250 + 1}",
        id_number=id_number,
    )


class NoFreezes:
    def __init__(self, frozen: set[str] | None = None) -> None:
        self.frozen = frozen or set()

    def is_frozen(self, conn: Connection, *, applicant_id: str, identity_key: str | None) -> bool:
        return applicant_id in self.frozen


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DAY)


@pytest.fixture
def risk(clock: FixedClock) -> RiskEngine:
    return RiskEngine(store=SqlSignalStore(), clock=clock, freezes=NoFreezes())


def _start(engine: Engine, risk: RiskEngine, subject: Subject, *, phone_recently_changed: bool = False) -> RiskDecision:
    with engine.begin() as conn:
        event = RiskEvent("start", subject, session_id="ses", phone_recently_changed=phone_recently_changed)
        return risk.evaluate(conn, event)


def _factor(engine: Engine, risk: RiskEngine, subject: Subject, passed: bool, factor: str = "sms_otp") -> RiskDecision:
    with engine.begin() as conn:
        return risk.evaluate(conn, RiskEvent("factor", subject, "ses", factor=factor, factor_passed=passed))


def test_first_ordinary_start_is_allowed(engine: Engine, risk: RiskEngine) -> None:
    decision = _start(engine, risk, _subject(1))
    assert (decision.outcome, decision.reason_codes) == ("allow", ())


def test_one_id_number_with_many_phones_is_flagged(engine: Engine, risk: RiskEngine, clock: FixedClock) -> None:
    stolen = "11010519491231002X"
    decisions = []
    for n in range(3):
        clock.advance(hours=20)
        decisions.append(_factor(engine, risk, _subject(n, id_number=stolen), True, "document"))
    assert "identity_many_phones" not in decisions[1].reason_codes
    assert "identity_many_phones" in decisions[2].reason_codes
    assert "identity_many_devices" not in decisions[2].reason_codes


def test_one_device_with_many_identities_is_flagged(engine: Engine, risk: RiskEngine) -> None:
    decisions = [_start(engine, risk, _subject(n, device="farm-phone")) for n in range(3)]
    assert decisions[1].outcome == "allow"
    assert decisions[2].reason_codes == ("device_many_identities",)
    assert decisions[2].outcome == "step_up"


def test_one_ip_with_many_identities_is_flagged(engine: Engine, risk: RiskEngine, clock: FixedClock) -> None:
    decisions = []
    for n in range(6):
        clock.advance(minutes=5)
        decisions.append(_start(engine, risk, _subject(n, ip="203.0.113.9")))
    assert "ip_many_identities" not in decisions[4].reason_codes
    assert "ip_many_identities" in decisions[5].reason_codes


def test_many_failed_factors_are_flagged_and_forgotten_after_the_window(
    engine: Engine, risk: RiskEngine, clock: FixedClock
) -> None:
    me = _subject(1)
    results = [_factor(engine, risk, me, False) for _ in range(4)]
    assert "many_failed_factors" not in results[2].reason_codes
    assert "many_failed_factors" in results[3].reason_codes
    clock.advance(hours=25)
    assert "many_failed_factors" not in _factor(engine, risk, me, False).reason_codes


def test_new_device_for_a_verified_account_is_flagged(engine: Engine, risk: RiskEngine, clock: FixedClock) -> None:
    usual = _subject(1, device="my-phone")
    assert _start(engine, risk, usual).outcome == "allow"
    with engine.begin() as conn:
        risk.record_completed(conn, RiskEvent("completed", usual, "ses"))
    clock.advance(days=3)
    assert _start(engine, risk, usual).reason_codes == ()
    decision = _start(engine, risk, _subject(1, device="attacker-phone"))
    assert decision.reason_codes == ("new_device_known_account",)
    assert decision.outcome == "step_up"


def test_sim_swap_flag_on_a_new_device_goes_to_review(engine: Engine, risk: RiskEngine) -> None:
    usual = _subject(1, device="my-phone")
    with engine.begin() as conn:
        risk.record_completed(conn, RiskEvent("completed", usual, "ses"))
    decision = _start(engine, risk, _subject(1, device="new-phone"), phone_recently_changed=True)
    assert decision.outcome == "review"
    assert set(decision.reason_codes) == {"phone_recently_changed", "new_device_known_account"}


def test_night_burst_is_flagged_at_night_and_not_by_day(engine: Engine, risk: RiskEngine, clock: FixedClock) -> None:
    night_clock = FixedClock(NIGHT)
    at_night = RiskEngine(store=SqlSignalStore(), clock=night_clock)
    night = []
    for n in range(6):
        night_clock.advance(minutes=1)
        night.append(_start(engine, at_night, _subject(n)))
    assert "night_burst" not in night[4].reason_codes
    assert "night_burst" in night[5].reason_codes
    day = [_start(engine, risk, _subject(100 + n)) for n in range(6)]
    assert all("night_burst" not in d.reason_codes for d in day)


def test_frozen_applicant_is_refused(engine: Engine, clock: FixedClock) -> None:
    risk = RiskEngine(store=SqlSignalStore(), clock=clock, freezes=NoFreezes({"app-1"}))
    decision = _start(engine, risk, _subject(1))
    assert (decision.outcome, decision.reason_codes) == ("refuse", ("identity_frozen",))
    assert _start(engine, risk, _subject(2)).outcome == "allow"


@pytest.fixture
def replica(db_url: str, engine: Engine) -> Iterator[Engine]:
    """A second engine on the same database (another replica of the service)."""
    second = make_engine(db_url)
    yield second
    second.dispose()


def test_two_replicas_share_counts(engine: Engine, replica: Engine, clock: FixedClock) -> None:
    a = RiskEngine(store=SqlSignalStore(), clock=clock)
    b = RiskEngine(store=SqlSignalStore(), clock=clock)
    assert _start(engine, a, _subject(1, device="farm")).outcome == "allow"
    assert _start(replica, b, _subject(2, device="farm")).outcome == "allow"
    assert _start(engine, a, _subject(3, device="farm")).reason_codes == ("device_many_identities",)
    assert _start(replica, b, _subject(4, device="farm")).reason_codes == ("device_many_identities",)


def test_observations_hold_blind_indexes_only(engine: Engine, risk: RiskEngine) -> None:
    _factor(engine, risk, _subject(1, id_number="11010519491231002X", ip="198.51.100.7"), True, "document")
    with engine.connect() as conn:
        row = conn.execute(select(tables_risk.risk_observations)).one()
    text = " ".join(str(v) for v in row)
    for plaintext in ("13800000001", "11010519491231002X", "198.51.100.7", "device-1", "app-1"):
        assert plaintext not in text
    assert len(row.phone_key) == len(row.identity_key) == len(row.ip_key) == 64
