"""Opening, reading, cancelling and completing verifications; recording factor results."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from idverify.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from idverify.domain.policy import Policy, PolicyInput
from idverify.domain.ports import Clock, IssuedToken, Random, TokenIssuer
from idverify.domain.repositories import SessionSecrets, TokenRecord, UnitOfWork
from idverify.domain.session import RiskAssessment, Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome
from idverify.factors.liveness import strong_liveness
from idverify.usecases.ids import new_id, new_reference
from idverify.usecases.risk_signals import with_device_risk
from idverify.usecases.units import KeepAndRaise, unit

_E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)  # fullmatch: "$" would let a trailing newline through

@dataclass(frozen=True, slots=True)
class StartRequest:
    context: ApplicationContext
    phone_e164: str = ""
    payout_account: str = ""
    first_loan: bool = False
    phone_recently_changed: bool = False
    biometric_consent: bool = False
    consent_text_version: str = ""

    def __repr__(self) -> str:
        return f"StartRequest(context={self.context!r}, <personal data redacted>)"


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    assessment: RiskAssessment
    #: Factors the risk engine asks for on top of the policy's.
    step_up: tuple[Factor, ...] = ()
    #: Set when the verification must be refused ("identity_frozen", "risk_refused").
    refusal: str = ""


class RiskCheck(Protocol):
    """Risk signals at the start of a verification and after each factor, in the unit of work's transaction."""

    def at_start(self, uow: UnitOfWork, *, context: ApplicationContext, session_id: str, phone_e164: str,
                 phone_recently_changed: bool) -> RiskVerdict: ...

    def after_factor(self, uow: UnitOfWork, *, session: VerificationSession, result: FactorResult) -> RiskVerdict: ...


class NoRisk:
    def at_start(self, uow: UnitOfWork, *, context: ApplicationContext, session_id: str, phone_e164: str,
                 phone_recently_changed: bool) -> RiskVerdict:
        return RiskVerdict(RiskAssessment())

    def after_factor(self, uow: UnitOfWork, *, session: VerificationSession, result: FactorResult) -> RiskVerdict:
        return RiskVerdict(session.risk)


@dataclass(frozen=True, slots=True)
class DeviceVerdict:
    """What the person's registered device keys say about a new verification."""

    #: The person registered device keys and this verification comes from another device.
    unregistered: bool = False
    #: The device is registered and the policy wants its key to sign (Factor.DEVICE_KEY).
    require_device_key: bool = False


class DeviceCheck(Protocol):
    """Device keys and SIM-swap evidence at the start of a verification (see ``usecases.person``)."""

    def phone_change(self, phone_e164: str) -> tuple[str, datetime | None]:
        """Before the transaction: who reports a recent SIM swap or port of the phone ("" for nobody), and when."""
        ...

    def at_start(self, uow: UnitOfWork, context: ApplicationContext) -> DeviceVerdict:
        """In the start's transaction; may queue a notice to the person's registered phone."""
        ...


@dataclass(frozen=True, slots=True)
class Completion:
    session: VerificationSession
    token: IssuedToken


class Verifications:
    """Use cases on verification sessions. Every method runs in one unit of work."""

    def __init__(
        self,
        *,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        random: Random,
        policy: Policy,
        issuer: TokenIssuer,
        has_enrolled_face: Callable[[UnitOfWork, str], bool] = lambda _uow, _applicant: False,
        notify_completed: Callable[[VerificationSession, str], None] | None = None,
        risk: RiskCheck | None = None,
        available: frozenset[Factor] = frozenset(Factor),
        pad_installed: bool = False,
        devices: DeviceCheck | None = None,
    ) -> None:
        self._devices = devices
        self._pad_installed = pad_installed
        self._risk = risk or NoRisk()
        self._available = available
        self._uow = uow
        self._clock = clock
        self._random = random
        self._policy = policy
        self._issuer = issuer
        self._has_enrolled_face = has_enrolled_face
        self._notify_completed = notify_completed

    def start(self, request: StartRequest) -> VerificationSession:
        """Open a verification; an identical retry returns the open one.

        Raises ``InvalidArgument`` for a bad phone number, currency or missing payout account, and
        ``AlreadyExists("verification_already_open")`` when another amount is being verified for the same loan.
        """
        ctx = request.context
        if ctx.amount.currency not in self._policy.currencies:
            raise InvalidArgument("currency_not_supported", f"currency {ctx.amount.currency} is not supported")
        if request.phone_e164 and not _E164.fullmatch(request.phone_e164):
            raise InvalidArgument("phone_invalid", "the phone number must be in E.164 form, e.g. +8613800138000")
        if not request.payout_account:
            raise InvalidArgument("payout_account_missing", "the payout account is required to bind the token")
        if len(request.payout_account) > 64 or not request.payout_account.isprintable():
            raise InvalidArgument("payout_account_invalid", "the payout account is not a valid account identifier")
        if self._policy.requires_pad(ctx.amount) and not self._pad_installed:
            raise FailedPrecondition("pad_unavailable",
                                     "loans of this amount need passive liveness, which is not installed")
        carrier_source, changed_at = (self._devices.phone_change(request.phone_e164) if self._devices is not None
                                      else ("", None))
        now = self._clock.now()
        with self._uow() as uow:
            existing = uow.sessions.find_open(ctx.applicant_id, ctx.loan_application_id)
            if existing is not None:
                due = existing.expire_if_due(now)
                if due.status is Status.EXPIRED:
                    uow.sessions.update(due)
                elif existing.context.amount == ctx.amount:
                    return existing
                else:
                    raise AlreadyExists(
                        "verification_already_open",
                        "another amount is being verified for this loan application; cancel it first",
                    )
            session_id = new_id(self._random, "vs")
            verdict = self._risk.at_start(uow, context=ctx, session_id=session_id, phone_e164=request.phone_e164,
                                          phone_recently_changed=request.phone_recently_changed)
            refusal = verdict.refusal or ("identity_frozen" if uow.freezes.is_frozen(ctx.applicant_id) else "")
            if refusal:
                uow.record_event(action="verification.refused", object_type="applicant",
                                 object_id=ctx.applicant_id, outcome="refused", reason_code=refusal,
                                 details={"risk_score": verdict.assessment.score,
                                          "risk_reasons": list(verdict.assessment.reason_codes)})
            else:
                session = self._create(uow, request, session_id, verdict, now, carrier_source=carrier_source,
                                       changed_at=changed_at)
        if refusal:  # raised after the commit, so the refusal and its risk observation stay on record
            raise FailedPrecondition(refusal, "new verifications for this identity are refused; contact support")
        return session

    def _create(self, uow: UnitOfWork, request: StartRequest, session_id: str, verdict: RiskVerdict,
                now: datetime, *, carrier_source: str = "", changed_at: datetime | None = None
                ) -> VerificationSession:
        ctx = request.context
        device = self._devices.at_start(uow, ctx) if self._devices is not None else DeviceVerdict()
        phone_source = carrier_source or ("lender" if request.phone_recently_changed else "")
        assessment = with_device_risk(verdict.assessment, unregistered=device.unregistered,
                                      sim_swap=carrier_source)
        verdict = replace(verdict, assessment=assessment)
        required = self._policy.required_factors(
            PolicyInput(
                amount=ctx.amount,
                first_loan=request.first_loan,
                new_device="new_device_known_account" in verdict.assessment.reason_codes or device.unregistered,
                phone_recently_changed=bool(phone_source),
                has_enrolled_face=self._has_enrolled_face(uow, ctx.applicant_id),
                step_up=tuple(f for f in verdict.step_up if f in self._available),
            )
        )
        if device.require_device_key and Factor.DEVICE_KEY in self._available and Factor.DEVICE_KEY not in required:
            required = (*required, Factor.DEVICE_KEY)
        if Factor.SMS_OTP in required and not request.phone_e164:
            raise InvalidArgument("phone_missing", "the policy requires an SMS code: give phone_e164")
        session = VerificationSession(
            session_id=session_id,
            reference=new_reference(self._random),
            context=ctx,
            status=Status.CREATED,
            required=required,
            created_at=now,
            expires_at=now + timedelta(seconds=self._policy.session_ttl_s),
            first_loan=request.first_loan,
            phone_recently_changed=bool(phone_source),
            biometric_consent=request.biometric_consent,
            consent_text_version=request.consent_text_version,
            risk=verdict.assessment,
        )
        uow.sessions.add(
            session, SessionSecrets(phone_e164=request.phone_e164, payout_account=request.payout_account)
        )
        if phone_source:  # becomes a signed claim in the token
            uow.devices.add_phone_change(session_id, phone_source, changed_at)
        uow.record_event(action="verification.started", object_type="verification",
                         object_id=session.session_id, outcome="ok",
                         details={"required": [f.value for f in required], "risk": session.risk.decision,
                                  "risk_score": session.risk.score,
                                  "risk_reasons": list(session.risk.reason_codes)})
        return session

    def load_active(self, uow: UnitOfWork, context: ApplicationContext, session_id: str,
                    factor: Factor) -> VerificationSession:
        """The session, locked for ``uow``, if ``factor`` may still be attempted on it.

        Raises ``NotFound``, ``FailedPrecondition`` (session_expired, ..., factor_not_required), and for a frozen
        identity fails the session and raises ``identity_frozen`` once that is committed."""
        now = self._clock.now()
        session = uow.sessions.get(session_id, for_update=True)
        session.belongs_to(context)
        session.require_active(now)
        if factor not in session.required:
            raise FailedPrecondition("factor_not_required", f"{factor.value} is not required for this verification")
        self._stop_if_frozen(uow, session, now)
        return session

    def _stop_if_frozen(self, uow: UnitOfWork, session: VerificationSession, now: datetime) -> None:
        """A freeze stops every step, whatever state the verification was in (checked in the step's transaction)."""
        if not uow.freezes.is_frozen(session.context.applicant_id):
            return
        uow.sessions.update(session.fail("identity_frozen", now))
        uow.record_event(action="verification.refused", object_type="verification", object_id=session.session_id,
                         outcome="refused", reason_code="identity_frozen")
        raise KeepAndRaise(FailedPrecondition("identity_frozen",
                                              "this identity is frozen; no verification of it can proceed"))

    def active_for(self, context: ApplicationContext, session_id: str, factor: Factor) -> VerificationSession:
        """The session, if factors may still be attempted on it and ``factor`` is one it requires (a read)."""
        with unit(self._uow) as uow:
            return self.load_active(uow, context, session_id, factor)

    def get(self, context: ApplicationContext, session_id: str) -> VerificationSession:
        """Read a verification, marking it expired when it is past its life. Raises ``NotFound``."""
        with self._uow() as uow:
            session = uow.sessions.get(session_id)
            session.belongs_to(context)
            due = session.expire_if_due(self._clock.now())
            if due is not session:
                session = uow.sessions.update(due)
        return session

    def cancel(self, context: ApplicationContext, session_id: str) -> VerificationSession:
        """Cancel an active verification. Raises ``FailedPrecondition`` when it already ended."""
        with self._uow() as uow:
            session = uow.sessions.get(session_id, for_update=True)
            session.belongs_to(context)
            session = uow.sessions.update(session.cancel(self._clock.now()))
            uow.record_event(action="verification.cancelled", object_type="verification", object_id=session_id,
                             outcome="ok", reason_code=session.reason_code)
        return session

    def record(self, context: ApplicationContext, session_id: str, result: FactorResult) -> VerificationSession:
        """Record one factor result on an active verification, in a unit of work of its own."""
        with unit(self._uow) as uow:
            session = self.load_active(uow, context, session_id, result.factor)
            return self.record_in(uow, session, result)

    def record_in(self, uow: UnitOfWork, session: VerificationSession, result: FactorResult) -> VerificationSession:
        """Record ``result`` on ``session`` (loaded by :meth:`load_active` in the same ``uow``), with the risk
        engine's verdict and the audit entry. Returns the stored session."""
        now = self._clock.now()
        session = session.record(result, now)
        verdict = self._risk.after_factor(uow, session=session, result=result)
        extra = tuple(f for f in verdict.step_up if f in self._available and f not in session.required)
        session = replace(session, risk=verdict.assessment, required=session.required + extra)
        if verdict.refusal:
            session = session.fail(verdict.refusal, now)
        session = uow.sessions.update(session)
        uow.record_event(action="factor.recorded", object_type="verification", object_id=session.session_id,
                         outcome=result.outcome.value, reason_code=result.reason_code,
                         details={"factor": result.factor.value, "score": round(result.score, 4),
                                  "threshold": result.threshold, "model_id": result.model_id,
                                  "pad_ran": result.pad_ran})
        return session

    def complete(self, context: ApplicationContext, session_id: str, key_thumbprint: str = "") -> Completion:
        """Issue the token when every required factor passed within the session's life.

        Raises ``FailedPrecondition`` (factors_incomplete, session_expired, session_completed, ...).
        """
        if key_thumbprint and (len(key_thumbprint) != 43 or not key_thumbprint.replace("-", "").replace(
            "_", "").isalnum()):
            raise InvalidArgument("key_thumbprint_invalid", "key_thumbprint must be a base64url SHA-256 thumbprint")
        now = self._clock.now()
        with unit(self._uow) as uow:
            session = uow.sessions.get(session_id, for_update=True)
            session.belongs_to(context)
            due = session.expire_if_due(now)
            if due is not session:
                uow.sessions.update(due)
                raise KeepAndRaise(FailedPrecondition("session_expired",
                                                      "the verification has expired; start a new one"))
            completed = session.complete(now)
            self._stop_if_frozen(uow, session, now)
            if (self._policy.requires_pad(context.amount) and Factor.LIVENESS in completed.required
                    and not any(r.factor is Factor.LIVENESS and r.outcome is Outcome.PASSED and r.pad_ran
                                for r in completed.results)):
                raise FailedPrecondition("pad_unavailable", "this amount needs liveness with passive PAD")
            evidence = next((r.evidence for r in reversed(completed.results)
                             if r.factor is Factor.LIVENESS and r.outcome is Outcome.PASSED), ())
            if (self._policy.requires_strong_liveness(context.amount) and Factor.LIVENESS in completed.required
                    and not strong_liveness(evidence)):
                raise FailedPrecondition("liveness_evidence_missing",
                                         "this amount needs liveness with the light challenge and a capture key "
                                         "or attestation")
            secrets = uow.sessions.secrets(session_id)
            proved_key = uow.devices.proof(session_id)
            if proved_key and key_thumbprint and key_thumbprint != proved_key:
                raise InvalidArgument("key_thumbprint_conflict",
                                      "the registered device key proved this verification; bind the token to it")
            token = self._issuer.issue(
                session_id=session.session_id,
                applicant_id=context.applicant_id,
                loan_application_id=context.loan_application_id,
                amount_value=f"{context.amount.value:.2f}",
                currency=context.amount.currency,
                payout_account=secrets.payout_account,
                factors=frozenset(completed.passed),
                pad_ran=any(r.factor is Factor.LIVENESS and r.outcome is Outcome.PASSED and r.pad_ran
                            for r in completed.results),
                key_thumbprint=proved_key or key_thumbprint,
                phone_change=uow.devices.phone_change(session_id),
                now=now,
                liveness_evidence=evidence if Factor.LIVENESS in completed.passed else None,
            )
            completed = uow.sessions.update(completed)
            uow.tokens.add(
                TokenRecord(
                    jti=token.jti,
                    session_id=session.session_id,
                    applicant_id=context.applicant_id,
                    issued_at=token.issued_at,
                    expires_at=token.expires_at,
                )
            )
            uow.record_event(action="token.issued", object_type="verification", object_id=session_id,
                             outcome="ok", details={"token_id": token.jti,
                                                    "factors": [f.value for f in completed.passed]})
            if self._notify_completed is not None and secrets.phone_e164:
                # Queued in this transaction, sent after the commit: the applicant learns at once that a loan was
                # verified in their name, and no token exists without its notice.
                self._notify_completed(completed, secrets.phone_e164)
        return Completion(session=completed, token=token)
