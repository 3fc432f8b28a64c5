"""Issue 11.1, the document and liveness steps: the freeze lands between every pair of steps of a verification
that needs an SMS code, a document and liveness, and no later step records a passing factor, completes or issues
a token. Driven through the use-case layer on the real SQL unit of work (SQLite and PostgreSQL): the document and
liveness steps record their results through the same ``load_active`` / ``record_in`` path as SubmitDocument and
SubmitLivenessFrames, without running OCR or face models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from idverify.cases.freeze import Freeze
from idverify.cases.repository import SqlFreezeRepository
from idverify.domain.errors import FailedPrecondition
from idverify.domain.policy import Policy
from idverify.domain.session import Status
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Money, Outcome
from idverify.privacy.cipher import FieldCipher
from idverify.privacy.keys import ConfigKeyProvider
from idverify.privacy.sealing import SealedFields
from idverify.storage.tables_sessions import issued_tokens
from idverify.storage.unit_of_work import SqlUnitOfWork
from idverify.usecases.verification import StartRequest, Verifications
from tests.fakes import FixedClock, RecordingIssuer, SeededRandom

FACTORS = (Factor.SMS_OTP, Factor.DOCUMENT, Factor.LIVENESS)
STEPS = ("start", "sms_otp", "document", "liveness", "complete")


def context() -> ApplicationContext:
    return ApplicationContext.create(applicant_id="victim", loan_application_id="L-1",
                                     amount=Money.parse("1000.00", "CNY"), device_id="d", client_ip="", locale="en")


def freeze(engine: Engine, clock: FixedClock) -> None:
    with engine.begin() as conn:
        SqlFreezeRepository().add(conn, Freeze(freeze_id="frz_1", applicant_id="victim", origin="case",
                                               reason="unauthorized_application_reported", frozen_at=clock.now(),
                                               frozen_by="victim"))


@pytest.mark.parametrize("done", range(1, len(STEPS)), ids=[f"before_{s}" for s in STEPS[1:]])
def test_a_freeze_between_any_two_steps_stops_documents_liveness_and_completion(engine: Engine, done: int) -> None:
    clock = FixedClock()
    keys = ConfigKeyProvider(data_keys={"t1": b"k" * 32}, active_kid="t1", index_key=b"i" * 32)
    protector = SealedFields(FieldCipher(keys))
    issuer = RecordingIssuer(clock)
    v = Verifications(uow=lambda: SqlUnitOfWork(engine, protector), clock=clock, random=SeededRandom(),
                      policy=Policy(base=FACTORS, amount_bands=()), issuer=issuer)
    session_id = ""

    def step(name: str) -> Callable[[], object]:
        def run() -> object:
            nonlocal session_id
            if name == "start":
                session_id = v.start(StartRequest(context=context(), phone_e164="+8613800138000",
                                                  payout_account="6222-01")).session_id
                return session_id
            if name == "complete":
                return v.complete(context(), session_id)
            factor = Factor(name)
            return v.record(context(), session_id, FactorResult(factor, Outcome.PASSED, "ok", clock.now()))
        return run

    for name in STEPS[:done]:
        step(name)()
        clock.advance(seconds=5)
    freeze(engine, clock)
    reasons = []
    for name in STEPS[done:]:
        with pytest.raises(FailedPrecondition) as err:
            step(name)()
        reasons.append(err.value.code)
    assert reasons[0] == "identity_frozen"
    assert set(reasons[1:]) <= {"session_failed"}
    session = v.get(context(), session_id)
    assert session.status is Status.FAILED and session.reason_code == "identity_frozen"
    assert len(session.passed) == done - 1  # nothing passed after the freeze
    assert issuer.calls == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(issued_tokens)).scalar_one() == 0
    assert clock.now() - session.created_at < timedelta(minutes=15)
