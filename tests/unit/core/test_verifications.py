"""Verification use cases on in-memory fakes: the session life cycle, ownership, expiry and completion."""

from __future__ import annotations

import pytest

from idverify.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from idverify.domain.policy import Policy
from idverify.domain.session import Status
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Money, Outcome
from idverify.usecases.verification import StartRequest, Verifications
from tests.fakes import FixedClock, InMemoryStore, RecordingIssuer, SeededRandom


def ctx(applicant: str = "acct-1", loan: str = "L-1", amount: str = "1000.00") -> ApplicationContext:
    return ApplicationContext.create(applicant_id=applicant, loan_application_id=loan,
                                     amount=Money.parse(amount, "CNY"), device_id="dev-1", client_ip="10.0.0.1",
                                     locale="zh-CN")


@pytest.fixture
def world() -> tuple[Verifications, FixedClock, InMemoryStore, RecordingIssuer]:
    clock, store = FixedClock(), InMemoryStore()
    issuer = RecordingIssuer(clock)
    v = Verifications(uow=store.uow, clock=clock, random=SeededRandom(), policy=Policy(), issuer=issuer)
    return v, clock, store, issuer


def start(v: Verifications, **kw: str) -> str:
    return v.start(StartRequest(context=ctx(**kw), phone_e164="+8613800138000", payout_account="6222-0001")).session_id


def passed(factor: Factor, clock: FixedClock) -> FactorResult:
    return FactorResult(factor, Outcome.PASSED, "ok", clock.now())


def test_start_opens_a_session_with_the_policy_factors_and_a_15_minute_life(world) -> None:  # type: ignore[no-untyped-def]
    v, clock, store, _ = world
    session = v.get(ctx(), start(v))
    assert session.status is Status.CREATED
    assert session.required == (Factor.SMS_OTP,)
    assert (session.expires_at - session.created_at).total_seconds() == 900
    assert len(session.reference) == 11 and session.reference[5] == "-"


def test_an_identical_retry_returns_the_open_session_but_another_amount_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    v, *_ = world
    first = start(v)
    assert start(v) == first
    with pytest.raises(AlreadyExists) as err:
        start(v, amount="2000.00")
    assert err.value.code == "verification_already_open"


def test_another_applicant_cannot_see_the_session_and_a_changed_amount_cannot_use_it(world) -> None:  # type: ignore[no-untyped-def]
    v, *_ = world
    sid = start(v)
    with pytest.raises(NotFound):
        v.get(ctx(applicant="acct-2"), sid)
    with pytest.raises(FailedPrecondition) as err:
        v.get(ctx(amount="999.00"), sid)
    assert err.value.code == "context_mismatch"


def test_completion_needs_every_required_factor_and_issues_a_bound_token(world) -> None:  # type: ignore[no-untyped-def]
    v, clock, store, issuer = world
    sid = start(v)
    with pytest.raises(FailedPrecondition) as err:
        v.complete(ctx(), sid)
    assert err.value.code == "factors_incomplete"
    assert issuer.calls == []
    v.record(ctx(), sid, passed(Factor.SMS_OTP, clock))
    done = v.complete(ctx(), sid)
    assert done.session.status is Status.COMPLETED
    call = issuer.calls[0]
    assert (call["loan_application_id"], call["amount_value"], call["currency"]) == ("L-1", "1000.00", "CNY")
    assert call["payout_account"] == "6222-0001"
    assert set(call["factors"]) == {Factor.SMS_OTP}
    assert store.tokens[done.token.jti].session_id == sid
    with pytest.raises(FailedPrecondition) as again:
        v.complete(ctx(), sid)
    assert again.value.code == "session_completed"


def test_a_failed_factor_attempt_is_recorded_but_does_not_count_as_passed(world) -> None:  # type: ignore[no-untyped-def]
    v, clock, *_ = world
    sid = start(v)
    v.record(ctx(), sid, FactorResult(Factor.SMS_OTP, Outcome.FAILED, "otp_incorrect", clock.now()))
    session = v.get(ctx(), sid)
    assert session.status is Status.IN_PROGRESS
    assert session.passed == () and session.results[0].reason_code == "otp_incorrect"


def test_an_expired_session_is_marked_expired_and_cannot_complete(world) -> None:  # type: ignore[no-untyped-def]
    v, clock, store, issuer = world
    sid = start(v)
    v.record(ctx(), sid, passed(Factor.SMS_OTP, clock))
    clock.advance(minutes=15)
    with pytest.raises(FailedPrecondition) as err:
        v.complete(ctx(), sid)
    assert err.value.code == "session_expired"
    assert store.sessions[sid].status is Status.EXPIRED
    assert issuer.calls == []


def test_a_cancelled_session_refuses_factors_and_a_new_one_can_be_opened(world) -> None:  # type: ignore[no-untyped-def]
    v, clock, *_ = world
    sid = start(v)
    assert v.cancel(ctx(), sid).status is Status.CANCELLED
    with pytest.raises(FailedPrecondition) as err:
        v.record(ctx(), sid, passed(Factor.SMS_OTP, clock))
    assert err.value.code == "session_cancelled"
    assert start(v) != sid


def test_a_factor_the_policy_did_not_require_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    v, clock, *_ = world
    sid = start(v)
    with pytest.raises(FailedPrecondition) as err:
        v.record(ctx(), sid, passed(Factor.DOCUMENT, clock))
    assert err.value.code == "factor_not_required"


@pytest.mark.parametrize(("phone", "account", "code"), [
    ("13800138000", "6222", "phone_invalid"),
    ("+86 138", "6222", "phone_invalid"),
    ("+8613800138000", "", "payout_account_missing"),
    ("+8613800138000", "x" * 65, "payout_account_invalid"),
])
def test_start_refuses_bad_personal_fields_and_stores_nothing(world, phone: str, account: str, code: str) -> None:  # type: ignore[no-untyped-def]
    v, _, store, _ = world
    with pytest.raises(InvalidArgument) as err:
        v.start(StartRequest(context=ctx(), phone_e164=phone, payout_account=account))
    assert err.value.code == code
    assert store.sessions == {}


def test_unsupported_currency_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    v, _, store, _ = world
    usd = ApplicationContext.create(applicant_id="a", loan_application_id="L", amount=Money.parse("1", "USD"),
                                    device_id="", client_ip="", locale="en")
    with pytest.raises(InvalidArgument) as err:
        v.start(StartRequest(context=usd, phone_e164="+8613800138000", payout_account="1"))
    assert err.value.code == "currency_not_supported"


def test_a_policy_can_refuse_high_value_loans_when_passive_pad_is_not_installed() -> None:
    from decimal import Decimal

    from idverify.domain.policy import AmountBand

    clock, store = FixedClock(), InMemoryStore()
    policy = Policy(pad_required_from=AmountBand(Decimal("20000"), "CNY", (Factor.LIVENESS,)))
    without_pad = Verifications(uow=store.uow, clock=clock, random=SeededRandom(), policy=policy,
                                issuer=RecordingIssuer(clock), pad_installed=False)
    small = without_pad.start(StartRequest(context=ctx(amount="1000.00"), phone_e164="+8613800138000",
                                           payout_account="1"))
    assert small.session_id
    with pytest.raises(FailedPrecondition) as err:
        without_pad.start(StartRequest(context=ctx(loan="L-2", amount="20000.00"), phone_e164="+8613800138000",
                                       payout_account="1"))
    assert err.value.code == "pad_unavailable"


def test_with_pad_required_a_liveness_without_pad_does_not_complete() -> None:
    from decimal import Decimal

    from idverify.domain.policy import AmountBand

    clock, store = FixedClock(), InMemoryStore()
    policy = Policy(pad_required_from=AmountBand(Decimal("20000"), "CNY", (Factor.LIVENESS,)))
    v = Verifications(uow=store.uow, clock=clock, random=SeededRandom(), policy=policy,
                      issuer=RecordingIssuer(clock), pad_installed=True)
    big = ctx(amount="20000.00")
    sid = v.start(StartRequest(context=big, phone_e164="+8613800138000", payout_account="1")).session_id
    v.record(big, sid, passed(Factor.SMS_OTP, clock))
    v.record(big, sid, FactorResult(Factor.LIVENESS, Outcome.PASSED, "ok", clock.now(), pad_ran=False))
    with pytest.raises(FailedPrecondition) as err:
        v.complete(big, sid)
    assert err.value.code == "pad_unavailable"
    v.record(big, sid, FactorResult(Factor.LIVENESS, Outcome.PASSED, "ok", clock.now(), pad_ran=True))
    assert v.complete(big, sid).session.status is Status.COMPLETED
