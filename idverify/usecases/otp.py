"""One-time-code steps of a verification: send an SMS code, check an SMS or TOTP code, enrol an authenticator.

Each step is one unit of work: the session is read and locked, the code's stores and counters are changed, the
result is recorded and audited, all in one transaction. A code is consumed in the transaction that records its
result, so a failure to record gives the code back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from idverify.domain.errors import FailedPrecondition, IdVerifyError, Unimplemented
from idverify.domain.ports import Clock
from idverify.domain.repositories import UnitOfWork
from idverify.domain.session import Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome
from idverify.factors.otp import CounterStore, OtpContext, OtpIncorrect, OtpService, OtpStore, SendReceipt
from idverify.factors.totp import TotpEnrolment, TotpService, TotpStore
from idverify.usecases.units import KeepAndRaise, unit
from idverify.usecases.verification import Verifications

#: Wrong codes are answers, not errors: they are recorded as FAILED results and the RPC succeeds.
_WRONG_CODE = frozenset({"otp_incorrect", "totp_incorrect"})


class OtpUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds the code stores and the guess counters."""

    @property
    def otp_codes(self) -> OtpStore: ...
    @property
    def otp_counters(self) -> CounterStore: ...
    @property
    def totp(self) -> TotpStore | None: ...


@dataclass(frozen=True, slots=True)
class CheckResult:
    result: FactorResult
    attempts_left: int


class OtpSteps:
    def __init__(
        self,
        *,
        verifications: Verifications,
        uow: Callable[[], OtpUnitOfWork],
        clock: Clock,
        otp: OtpService,
        totp: TotpService | None,
        lender_name: str,
    ) -> None:
        self._v = verifications
        self._uow = uow
        self._clock = clock
        self._otp = otp
        self._totp = totp
        self._lender = lender_name

    def _otp_context(self, uow: OtpUnitOfWork, session: VerificationSession) -> OtpContext:
        phone = uow.sessions.secrets(session.session_id).phone_e164
        ctx = session.context
        return OtpContext(
            session_id=session.session_id,
            applicant_id=ctx.applicant_id,
            loan_application_id=ctx.loan_application_id,
            amount=ctx.amount.value,
            currency=ctx.amount.currency,
            lender_name=self._lender,
            locale=ctx.locale,
            phone_e164=phone,
            client_ip=ctx.client_ip,
            device_id=ctx.device_id,
        )

    def send(self, context: ApplicationContext, session_id: str) -> SendReceipt:
        """Send an SMS code for an active verification that requires one. Raises the limits' errors.

        A send the provider refused still commits what ``OtpService.send`` kept (the failed code, the pumping
        guards' counts) before its error is raised."""
        with unit(self._uow) as uow:
            session = self._v.load_active(uow, context, session_id, Factor.SMS_OTP)
            otp = self._otp.using(uow.otp_codes, uow.otp_counters)
            try:
                return otp.send(self._otp_context(uow, session))
            except IdVerifyError as err:
                raise KeepAndRaise(err) from err

    def check(self, context: ApplicationContext, session_id: str, code: str, *, totp: bool) -> CheckResult:
        """Check a code and record the result. A wrong code is a FAILED result; malformed codes, missing or
        expired codes and exhausted limits raise (and record nothing)."""
        factor = Factor.TOTP if totp else Factor.SMS_OTP
        if totp and self._totp is None:
            raise Unimplemented("factor_not_available", "TOTP is not available on this deployment")
        with unit(self._uow) as uow:
            session = self._v.load_active(uow, context, session_id, factor)
            attempts_left = 0
            try:
                if totp:
                    assert self._totp is not None
                    checker = self._totp if uow.totp is None else self._totp.using(uow.totp, uow.otp_counters)
                    checker.verify(context.applicant_id, code)
                else:
                    otp = self._otp.using(uow.otp_codes, uow.otp_counters)
                    otp.check(self._otp_context(uow, session), code)
                result = FactorResult(factor, Outcome.PASSED, "ok", self._clock.now())
            except OtpIncorrect as wrong:
                attempts_left = wrong.attempts_left
                result = FactorResult(factor, Outcome.FAILED, wrong.code, self._clock.now())
            except IdVerifyError as err:
                if err.code not in _WRONG_CODE:
                    raise
                result = FactorResult(factor, Outcome.FAILED, err.code, self._clock.now())
            self._v.record_in(uow, session, result)
        return CheckResult(result=result, attempts_left=attempts_left)

    def enroll_totp(self, context: ApplicationContext, session_id: str) -> TotpEnrolment:
        """Enrol an authenticator, authorised by a completed verification of the same applicant."""
        if self._totp is None:
            raise Unimplemented("factor_not_available", "TOTP is not available on this deployment")
        with unit(self._uow) as uow:
            session = uow.sessions.get(session_id)
            session.belongs_to(context)
            if session.status is not Status.COMPLETED:
                raise FailedPrecondition("verification_not_completed", "enrol only after a completed verification")
            totp = self._totp if uow.totp is None else self._totp.using(uow.totp, uow.otp_counters)
            return totp.enroll(context.applicant_id, account_name=context.applicant_id)
