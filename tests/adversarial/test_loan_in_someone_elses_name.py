"""Attacks one would try to take a loan in someone else's name, over gRPC against the real server on SQLite and
PostgreSQL. Each test names the attack; each must fail without changing what the victim can still do."""

from __future__ import annotations

import threading

import grpc
import pytest
from sqlalchemy import func, select

from idverify.api.v1 import verification_pb2
from idverify.storage.tables_sessions import issued_tokens
from tests.adversarial.conftest import Applicant, phone_for, refusal
from tests.transport.conftest import Running
from tests.transport.test_server import reason_of

V = verification_pb2


def passed_otp(server: Running, name: str, n: int, **kw: str) -> Applicant:
    who = Applicant(server, name, phone=phone_for(n), device_id=f"dev-{name}", client_ip=f"198.51.100.{n}", **kw)
    who.start()
    who.send()
    who.check()
    return who


def test_a_thief_cannot_drive_the_victims_session_with_their_own_applicant_id(server: Running) -> None:
    victim = Applicant(server, "victim", phone=phone_for(1))
    victim.start()
    thief = Applicant(server, "thief", phone=phone_for(2), session_id=victim.session_id)
    for step in (thief.send, thief.complete):
        assert refusal(step) == "session_not_found"  # another applicant's session does not even exist for them
    assert refusal(thief.check, "123456") == "session_not_found"
    victim.send()
    assert victim.check().result.outcome == 1  # untouched: the victim's code still works


@pytest.mark.parametrize("field", ["loan", "amount", "payout"])
def test_a_token_replayed_for_another_loan_amount_or_payout_account_is_refused(server: Running, field: str) -> None:
    who = passed_otp(server, f"replay-{field}", 3)
    who.complete()
    changed = {"loan": {"loan": "L-other"}, "amount": {"amount": "1000.01"}, "payout": {"payout": "6222-99"}}[field]
    assert refusal(who.redeem, **changed) == "token_binding_mismatch"
    assert who.redeem().redemption_id  # the genuine redemption still succeeds, once


def test_racing_completion_eight_times_issues_exactly_one_token(server: Running) -> None:
    who = passed_otp(server, "racer", 4)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def complete() -> None:
        barrier.wait()
        try:
            Applicant(server, who.applicant_id, session_id=who.session_id).complete()
            outcome = "ok"
        except grpc.RpcError as err:
            outcome = reason_of(err)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=complete) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"session_completed", "concurrent_update"}, outcomes
    with server.app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(issued_tokens)).scalar_one() == 1


def test_a_code_is_useless_after_the_lender_cancels(server: Running) -> None:
    who = Applicant(server, "cancelled", phone=phone_for(5))
    who.start()
    who.send()
    who.stub.CancelVerification(V.CancelVerificationRequest(context=who.context(), session_id=who.session_id),
                                metadata=server.md())
    assert refusal(who.check) == "session_cancelled"
    assert refusal(who.complete) == "session_cancelled"


def test_restarting_with_the_thiefs_phone_does_not_move_the_code_to_it(server: Running) -> None:
    """The phone is bound when the verification opens; a "retry" naming another phone gets the open verification
    back and the code still goes to the number on record."""
    victim = Applicant(server, "phone-swap", phone=phone_for(6))
    first = victim.start()
    thief_phone = phone_for(7)
    swapped = Applicant(server, "phone-swap", phone=thief_phone)
    assert swapped.start().session_id == first.session_id
    swapped.send()
    server.sms_sent()
    assert Applicant(server, "x", phone=thief_phone).code() == "000000"  # nothing reached the thief
    assert victim.check().result.outcome == 1


def test_a_code_sent_for_one_loan_does_not_pass_another(server: Running) -> None:
    small = Applicant(server, "linked", loan="L-small", amount="100.00", phone=phone_for(8))
    small.start()
    small.send()
    code = small.code()
    big = Applicant(server, "linked", loan="L-big", amount="4000.00", phone=phone_for(8))
    big.start()
    assert refusal(big.check, code) == "otp_not_sent"
    big.stub.SendOtp(V.SendOtpRequest(context=big.context(), session_id=big.session_id), metadata=server.md())
    checked = big.check(code if code != big.code() else "000000")
    assert checked.result.reason_code == "otp_incorrect"  # the small loan's code is bound to the small loan
    assert refusal(big.complete) == "factors_incomplete"


def test_changing_the_amount_after_the_code_was_sent_needs_a_new_verification(server: Running) -> None:
    who = Applicant(server, "amount-swap", phone=phone_for(9))
    who.start()
    who.send()
    assert refusal(who.check, None, amount="9000.00") == "context_mismatch"
    assert who.check().result.outcome == 1
