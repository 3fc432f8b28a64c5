"""Issue 12: a code is consumed in the transaction that records its result. When recording fails (here the risk
engine raising mid-way, as a database error would), the code is not burnt: the applicant retries with the same
code. Real SQL unit of work on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from idverify.domain.errors import Unavailable
from idverify.domain.policy import Policy
from idverify.domain.session import RiskAssessment, VerificationSession
from idverify.domain.values import ApplicationContext, FactorResult, Money, Outcome
from idverify.factors.otp import OtpService
from idverify.privacy.cipher import FieldCipher
from idverify.privacy.keys import ConfigKeyProvider
from idverify.privacy.sealing import SealedFields
from idverify.storage.counters import SqlCounterStore
from idverify.storage.otp_store import SqlOtpStore
from idverify.storage.unit_of_work import SqlUnitOfWork
from idverify.usecases.otp import OtpSteps
from idverify.usecases.verification import RiskVerdict, StartRequest, Verifications
from tests.fakes import FixedClock, RecordingIssuer, SeededRandom
from tests.unit.otp.memory import RecordingSender


class FailsOnce:
    """A risk check whose first after-factor call fails, as a dropped connection would."""

    def __init__(self) -> None:
        self.failed = False

    def at_start(self, uow: object, **_: object) -> RiskVerdict:
        return RiskVerdict(RiskAssessment())

    def after_factor(self, uow: object, *, session: VerificationSession, result: FactorResult) -> RiskVerdict:
        if not self.failed:
            self.failed = True
            raise Unavailable("storage_unavailable", "the database went away")
        return RiskVerdict(session.risk)


def test_a_failed_record_does_not_burn_the_code(engine: Engine) -> None:
    clock = FixedClock()
    keys = ConfigKeyProvider(data_keys={"t1": b"k" * 32}, active_kid="t1", index_key=b"i" * 32)
    protector = SealedFields(FieldCipher(keys))

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, protector)

    sender = RecordingSender()
    v = Verifications(uow=uow, clock=clock, random=SeededRandom(), policy=Policy(), issuer=RecordingIssuer(clock),
                      risk=FailsOnce())  # type: ignore[arg-type]
    otp = OtpService(store=SqlOtpStore(engine), counters=SqlCounterStore(engine), sender=sender, clock=clock,
                     random=SeededRandom(3), digest_key=b"d" * 32)
    steps = OtpSteps(verifications=v, uow=uow, clock=clock, otp=otp, totp=None, lender_name="Acme")
    ctx = ApplicationContext.create(applicant_id="a-1", loan_application_id="L-1",
                                    amount=Money(Decimal("1000.00"), "CNY"), device_id="d-1", client_ip="",
                                    locale="en")
    session = v.start(StartRequest(context=ctx, phone_e164="+8613800138000", payout_account="6222-01"))
    steps.send(ctx, session.session_id)
    code = sender.last_code()

    with pytest.raises(Unavailable):
        steps.check(ctx, session.session_id, code, totp=False)
    checked = steps.check(ctx, session.session_id, code, totp=False)

    assert checked.result.outcome is Outcome.PASSED
    assert v.get(ctx, session.session_id).passed == (checked.result.factor,)
