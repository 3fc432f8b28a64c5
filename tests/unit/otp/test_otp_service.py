"""OtpService rules, with in-memory stores: what is sent, what is accepted, what each refusal says."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from idverify.domain.errors import FailedPrecondition, InvalidArgument, ResourceExhausted, Unavailable
from idverify.factors.otp import OtpContext, OtpIncorrect, OtpService
from idverify.factors.otp_limits import LockoutPolicy, OtpLimits, WindowLimit
from tests.fakes import FixedClock, SeededRandom
from tests.unit.otp.memory import MemoryCounterStore, MemoryOtpStore, RecordingSender

KEY = b"k" * 32
PHONE = "+8613812345678"


def ctx(session: str = "s1", **changes: object) -> OtpContext:
    base = OtpContext(
        session_id=session,
        applicant_id="app-1",
        loan_application_id="loan-1",
        amount=Decimal("12000.00"),
        currency="CNY",
        lender_name="Acme Credit",
        locale="en",
        phone_e164=PHONE,
        client_ip="203.0.113.7",
        device_id="dev-1",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class World:
    def __init__(self, limits: OtpLimits | None = None) -> None:
        self.clock = FixedClock()
        self.store = MemoryOtpStore()
        self.counters = MemoryCounterStore()
        self.sender = RecordingSender()
        self.limits = limits or OtpLimits()
        self.service = OtpService(
            store=self.store, counters=self.counters, sender=self.sender, clock=self.clock,
            random=SeededRandom(), digest_key=KEY, limits=self.limits,
        )

    def send(self, c: OtpContext | None = None) -> str:
        self.service.send(c or ctx())
        return self.sender.last_code(self.limits.code_length)


@pytest.fixture
def world() -> World:
    return World()


def test_a_sent_code_is_accepted_once_and_never_stored_in_clear(world: World) -> None:
    receipt = world.service.send(ctx())
    code = world.sender.last_code()
    assert len(code) == 6
    assert receipt.code_length == 6
    assert receipt.masked_phone == "+86*******5678"
    assert receipt.expires_at == world.clock.now() + __import__("datetime").timedelta(minutes=5)
    row = next(iter(world.store.rows.values()))
    assert code.encode() not in repr(row).encode()
    assert PHONE not in repr(row)
    world.service.check(ctx(), code)
    with pytest.raises(FailedPrecondition) as err:
        world.service.check(ctx(), code)
    assert err.value.code == "otp_already_used"


def test_the_text_names_lender_amount_and_currency_and_warns_not_to_share(world: World) -> None:
    world.service.send(ctx(locale="zh-CN"))
    to, body = world.sender.sent[-1]
    assert to == PHONE
    assert "Acme Credit" in body
    assert "人民币12,000.00元" in body
    assert "切勿" in body
    assert "举报" in body


def test_code_length_is_configurable_up_to_eight() -> None:
    w = World(OtpLimits(code_length=8))
    code = w.send()
    assert len(code) == 8
    w.service.check(ctx(), code)
    with pytest.raises(ValueError):
        OtpLimits(code_length=9)


def test_validity_is_capped_at_ten_minutes() -> None:
    with pytest.raises(ValueError):
        OtpLimits(ttl_s=601)
    assert OtpLimits(ttl_s=600).ttl_s == 600


@pytest.mark.parametrize("bad", ["12345a", "123 456", "１２３４５６", "12345", "1234567", "", " 123456"])
def test_malformed_codes_are_refused_without_burning_an_attempt(world: World, bad: str) -> None:
    code = world.send()
    for _ in range(10):
        with pytest.raises(InvalidArgument) as err:
            world.service.check(ctx(), bad)
        assert err.value.code == "otp_malformed"
    world.service.check(ctx(), code)


def test_each_wrong_code_burns_one_attempt_and_reports_how_many_are_left(world: World) -> None:
    code = world.send()
    wrong = "000000" if code != "000000" else "111111"
    left = []
    for _ in range(5):
        with pytest.raises(OtpIncorrect) as err:
            world.service.check(ctx(), wrong)
        assert err.value.code == "otp_incorrect"
        assert isinstance(err.value, InvalidArgument)
        left.append(err.value.attempts_left)
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(ResourceExhausted) as done:
        world.service.check(ctx(), code)
    assert done.value.code == "otp_attempts_exhausted"


def test_attempts_exhausted_is_its_own_reason_while_the_code_is_still_live() -> None:
    w = World(OtpLimits(lockout=LockoutPolicy(free_failures=50)))
    code = w.send()
    for _ in range(5):
        with pytest.raises(OtpIncorrect):
            w.service.check(ctx(), "999999" if code != "999999" else "888888")
    with pytest.raises(ResourceExhausted) as err:
        w.service.check(ctx(), code)
    assert err.value.code == "otp_attempts_exhausted"


def test_a_code_expires_after_its_validity(world: World) -> None:
    code = world.send()
    world.clock.advance(299)
    world.clock.advance(1)
    with pytest.raises(FailedPrecondition) as err:
        world.service.check(ctx(), code)
    assert err.value.code == "otp_expired"


def test_checking_before_any_send_says_not_sent(world: World) -> None:
    with pytest.raises(FailedPrecondition) as err:
        world.service.check(ctx(), "123456")
    assert err.value.code == "otp_not_sent"


@pytest.mark.parametrize(
    "change", [{"amount": Decimal("12000.01")}, {"loan_application_id": "loan-2"}, {"currency": "USD"}]
)
def test_a_changed_loan_needs_a_new_code(world: World, change: dict[str, Any]) -> None:
    code = world.send()
    with pytest.raises(FailedPrecondition) as err:
        world.service.check(ctx(**change), code)
    assert err.value.code == "otp_context_changed"
    world.service.check(ctx(), code)


def test_the_same_amount_written_differently_is_the_same_loan(world: World) -> None:
    code = world.send()
    world.service.check(ctx(amount=Decimal("12000")), code)


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "+0123456789", "+86138123456789012", "+86１38"])
def test_numbers_not_in_e164_are_refused(world: World, phone: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        world.service.send(ctx(phone_e164=phone))
    assert err.value.code == "phone_invalid"
    assert world.sender.sent == []


def test_countries_outside_the_allowlist_are_refused(world: World) -> None:
    with pytest.raises(InvalidArgument) as err:
        world.service.send(ctx(phone_e164="+447700900123"))
    assert err.value.code == "phone_country_not_allowed"
    w = World(OtpLimits(allowed_calling_codes=("86", "44")))
    w.service.send(ctx(phone_e164="+447700900123"))


def test_a_resend_waits_for_the_cool_down_and_replaces_the_old_code(world: World) -> None:
    first = world.send()
    world.clock.advance(10)
    with pytest.raises(ResourceExhausted) as err:
        world.service.send(ctx())
    assert err.value.code == "otp_resend_too_soon"
    assert err.value.retry_after_s == 20
    world.clock.advance(20)
    second = world.send()
    if first != second:
        with pytest.raises(OtpIncorrect):
            world.service.check(ctx(), first)
    world.service.check(ctx(), second)


def test_a_session_gets_at_most_five_sends(world: World) -> None:
    for _ in range(5):
        world.send()
        world.clock.advance(30)
    with pytest.raises(ResourceExhausted) as err:
        world.service.send(ctx())
    assert err.value.code == "otp_session_send_limit"
    assert err.value.retry_after_s is None
    assert len(world.sender.sent) == 5


@pytest.mark.parametrize(
    ("limits", "vary", "reason"),
    [
        (OtpLimits(phone_per_hour=WindowLimit(2, 3600)), {}, "otp_phone_hourly_limit"),
        (OtpLimits(phone_per_day=WindowLimit(2, 86400)), {}, "otp_phone_daily_limit"),
        (OtpLimits(ip_per_hour=WindowLimit(2, 3600)), {"phone": True}, "otp_ip_hourly_limit"),
        (OtpLimits(device_per_hour=WindowLimit(2, 3600)), {"phone": True}, "otp_device_hourly_limit"),
        (OtpLimits(prefix_velocity=WindowLimit(2, 600)), {"phone": True, "ip": True}, "otp_prefix_velocity_limit"),
    ],
)
def test_pumping_guards_stop_the_third_send(limits: OtpLimits, vary: dict[str, bool], reason: str) -> None:
    w = World(dataclasses.replace(limits, device_per_hour=limits.device_per_hour))
    for i in range(3):
        c = ctx(
            session=f"s{i}",
            phone_e164=f"+86138123456{i:02d}" if vary.get("phone") else PHONE,
            client_ip=f"198.51.100.{i}" if vary.get("ip") else "203.0.113.7",
            device_id=f"dev-{i}" if vary.get("ip") else "dev-1",
        )
        if i < 2:
            w.service.send(c)
            continue
        with pytest.raises(ResourceExhausted) as err:
            w.service.send(c)
        assert err.value.code == reason
        assert err.value.retry_after_s is not None
        assert err.value.retry_after_s > 0
    assert len(w.sender.sent) == 2


def test_a_refused_send_gives_back_what_it_counted() -> None:
    """Refused by one guard, the attempt must not use up the session's sends or the cool-down."""
    w = World(OtpLimits(ip_per_hour=WindowLimit(1, 3600)))
    w.service.send(ctx(session="other"))
    with pytest.raises(ResourceExhausted):
        w.service.send(ctx())
    w.service.send(ctx(client_ip="198.51.100.1"))  # no cool-down was left behind


def test_a_failed_send_is_not_a_code_the_user_could_have_received() -> None:
    many = WindowLimit(50, 3600)
    world = World(OtpLimits(phone_per_hour=many, phone_per_day=many, device_per_hour=many))
    first = world.send()
    world.clock.advance(30)
    world.sender.fail_with = Unavailable("sms_unavailable")
    for _ in range(6):  # more than the session's five sends: failed sends are given back
        with pytest.raises(Unavailable):
            world.service.send(ctx())
    world.sender.fail_with = None
    world.service.check(ctx(), first)  # the earlier code stays valid
    failed = [r for r in world.store.rows.values() if r.status.value == "failed"]
    assert len(failed) == 6


def test_a_failed_first_send_leaves_nothing_to_check_and_no_cool_down(world: World) -> None:
    world.sender.fail_with = InvalidArgument("phone_invalid")
    with pytest.raises(InvalidArgument):
        world.service.send(ctx())
    with pytest.raises(FailedPrecondition) as err:
        world.service.check(ctx(), "123456")
    assert err.value.code == "otp_not_sent"
    world.sender.fail_with = None
    world.service.check(ctx(), world.send())


def test_failed_sends_still_count_against_the_pumping_guards() -> None:
    w = World(OtpLimits(phone_per_hour=WindowLimit(3, 3600)))
    w.sender.fail_with = Unavailable("sms_unavailable")
    for _ in range(3):
        with pytest.raises(Unavailable):
            w.service.send(ctx())
    w.sender.fail_with = None
    with pytest.raises(ResourceExhausted) as err:
        w.service.send(ctx())
    assert err.value.code == "otp_phone_hourly_limit"
