"""One-time-code steps of a verification: send an SMS code, check an SMS or TOTP code, enrol an authenticator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from idverify.domain.errors import FailedPrecondition, IdVerifyError, Unimplemented
from idverify.domain.ports import Clock
from idverify.domain.repositories import UnitOfWork
from idverify.domain.session import Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome
from idverify.factors.otp import OtpContext, OtpIncorrect, OtpService, SendReceipt
from idverify.factors.totp import TotpEnrolment, TotpService
from idverify.usecases.verification import Verifications

#: Wrong codes are answers, not errors: they are recorded as FAILED results and the RPC succeeds.
_WRONG_CODE = frozenset({"otp_incorrect", "totp_incorrect"})


@dataclass(frozen=True, slots=True)
class CheckResult:
    result: FactorResult
    attempts_left: int


class OtpSteps:
    def __init__(
        self,
        *,
        verifications: Verifications,
        uow: Callable[[], UnitOfWork],
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

    def _otp_context(self, session: VerificationSession) -> OtpContext:
        with self._uow() as uow:
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
        """Send an SMS code for an active verification that requires one. Raises the limits' errors."""
        session = self._v.active_for(context, session_id, Factor.SMS_OTP)
        return self._otp.send(self._otp_context(session))

    def check(self, context: ApplicationContext, session_id: str, code: str, *, totp: bool) -> CheckResult:
        """Check a code and record the result. A wrong code is a FAILED result; malformed codes, missing or
        expired codes and exhausted limits raise (and record nothing)."""
        factor = Factor.TOTP if totp else Factor.SMS_OTP
        session = self._v.active_for(context, session_id, factor)
        attempts_left = 0
        try:
            if totp:
                if self._totp is None:
                    raise Unimplemented("factor_not_available", "TOTP is not available on this deployment")
                self._totp.verify(context.applicant_id, code)
            else:
                self._otp.check(self._otp_context(session), code)
            result = FactorResult(factor, Outcome.PASSED, "ok", self._clock.now())
        except OtpIncorrect as wrong:
            attempts_left = wrong.attempts_left
            result = FactorResult(factor, Outcome.FAILED, wrong.code, self._clock.now())
        except IdVerifyError as err:
            if err.code not in _WRONG_CODE:
                raise
            result = FactorResult(factor, Outcome.FAILED, err.code, self._clock.now())
        self._v.record(context, session_id, result)
        return CheckResult(result=result, attempts_left=attempts_left)

    def enroll_totp(self, context: ApplicationContext, session_id: str) -> TotpEnrolment:
        """Enrol an authenticator, authorised by a completed verification of the same applicant."""
        if self._totp is None:
            raise Unimplemented("factor_not_available", "TOTP is not available on this deployment")
        session = self._v.get(context, session_id)
        if session.status is not Status.COMPLETED:
            raise FailedPrecondition("verification_not_completed", "enrol only after a completed verification")
        return self._totp.enroll(context.applicant_id, account_name=context.applicant_id)
