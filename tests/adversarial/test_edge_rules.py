"""Issue 11.6: one set of edge rules. The same junk value is refused by every RPC that accepts the field, with
the same reason code, before anything changes (a phone with a trailing newline used to pass StartVerification
and fail only later at SendOtp)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from idverify.api.v1 import case_pb2, case_pb2_grpc, common_pb2, token_pb2, token_pb2_grpc, verification_pb2
from tests.adversarial.conftest import PAYOUT, Applicant, refusal
from tests.transport.conftest import Running

V = verification_pb2
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PHONES = {
    "+8613800138000\n": "phone_invalid",
    " +8613800138000": "phone_invalid",
    "+86 138 0013 8000": "phone_invalid",
    "+86013800138000": "phone_invalid",  # a trunk 0 after the country code
    "+8612345": "phone_invalid",  # too short for China
    "+8613800138000\u200b": "phone_invalid",  # zero-width space
    "+14155552671": "phone_country_not_allowed",
}


def start_with(server: Running, **fields: str) -> Callable[[], object]:
    who = Applicant(server, fields.pop("applicant", "edge"))
    request = V.StartVerificationRequest(context=who.context(**fields), phone_e164=fields.get("phone", who.phone),
                                         payout_account=fields.get("payout", PAYOUT))
    return lambda: who.stub.StartVerification(request, metadata=server.md())


def redeem_with(server: Running, *, loan: str = "L-1", amount: str = "1000.00", payout: str = PAYOUT
                ) -> Callable[[], object]:
    stub = token_pb2_grpc.TokenServiceStub(server.channel)
    request = token_pb2.RedeemTokenRequest(token="e30.e30.sig", loan_application_id=loan,
                                           amount=common_pb2.Money(value=amount, currency="CNY"),
                                           payout_account=payout)
    return lambda: stub.RedeemToken(request, metadata=server.md("loan_service"))


def report_with(server: Running, *, applicant: str = "edge", loan: str = "L-1") -> Callable[[], object]:
    stub = case_pb2_grpc.CaseServiceStub(server.channel)
    request = case_pb2.ReportUnauthorizedApplicationRequest(applicant_id=applicant, loan_application_id=loan,
                                                            channel="app")
    return lambda: stub.ReportUnauthorizedApplication(request, metadata=server.md())


@pytest.mark.parametrize("phone", sorted(PHONES))
def test_a_bad_phone_is_refused_alike_where_phones_are_accepted(server: Running, phone: str) -> None:
    who = Applicant(server, "edge-phone")
    start = V.StartVerificationRequest(context=who.context(), phone_e164=phone, payout_account=PAYOUT)
    assert refusal(who.stub.StartVerification, start, metadata=server.md()) == PHONES[phone]
    links = case_pb2.DeclareStaffLinksRequest(staff_id="dev-support", phones_e164=[phone])
    stub = case_pb2_grpc.CaseServiceStub(server.channel)
    assert refusal(stub.DeclareStaffLinks, links, metadata=server.md("admin")) == PHONES[phone]


@pytest.mark.parametrize("value", ["L-1\n", " L-1", "L\u202e1", "L" * 129, ""])
def test_a_bad_loan_application_id_is_refused_alike_by_start_redeem_and_report(server: Running, value: str) -> None:
    expected = "loan_application_id_missing" if not value else "loan_application_id_invalid"
    reasons = {refusal(start_with(server, loan=value)), refusal(redeem_with(server, loan=value))}
    if value:  # an empty oneof is "no subject" for a report, its own reason
        reasons.add(refusal(report_with(server, loan=value)))
    assert reasons == {expected}


@pytest.mark.parametrize("value", ["6222-01\n", "6222\t01", " 6222-01", "6" * 65, ""])
def test_a_bad_payout_account_is_refused_alike_by_start_and_redeem(server: Running, value: str) -> None:
    expected = "payout_account_missing" if not value else "payout_account_invalid"
    assert {refusal(start_with(server, payout=value)), refusal(redeem_with(server, payout=value))} == {expected}


@pytest.mark.parametrize("value", ["1e3", "+1000", "1,000.00", "1000.001", "-5", "NaN", " 1000", "1000\n", ""])
def test_a_bad_amount_is_refused_alike_by_start_and_redeem(server: Running, value: str) -> None:
    assert {refusal(start_with(server, amount=value)), refusal(redeem_with(server, amount=value))} == {
        "amount_invalid"}


@pytest.mark.parametrize("value", ["acct-1\n", "acct\x00", " acct"])
def test_a_bad_applicant_id_is_refused_alike_by_start_report_and_freeze(server: Running, value: str) -> None:
    stub = case_pb2_grpc.CaseServiceStub(server.channel)
    freeze = case_pb2.FreezeIdentityRequest(applicant_id=value, reason="x")
    reasons = {refusal(start_with(server, applicant=value)), refusal(report_with(server, applicant=value)),
               refusal(stub.FreezeIdentity, freeze, metadata=server.md())}
    assert reasons == {"applicant_id_invalid"}


def test_nothing_was_written_by_any_refused_call(server: Running) -> None:
    with pytest.raises(grpc.RpcError):
        start_with(server, phone="+8613800138000\n")()
    from sqlalchemy import func, select

    from idverify.storage.tables_sessions import verification_sessions

    with server.app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(verification_sessions)).scalar_one() == 0
