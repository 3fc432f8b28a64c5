"""The verification use cases' ``RiskCheck`` over the risk engine, in the unit of work's transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from idverify.domain.repositories import UnitOfWork
from idverify.domain.session import RiskAssessment, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome
from idverify.privacy.blind_index import BlindIndex
from idverify.risk.engine import RiskEngine
from idverify.risk.model import RiskDecision, RiskEvent
from idverify.risk.subject import subject_from_identifiers
from idverify.storage.unit_of_work import SqlUnitOfWork
from idverify.usecases.verification import RiskVerdict


class EngineRiskCheck:
    def __init__(self, engine: RiskEngine, index: BlindIndex, tenant: str = "default") -> None:
        self._engine = engine
        self._index = index
        self._tenant = tenant

    def _verdict(self, decision: RiskDecision) -> RiskVerdict:
        assessment = RiskAssessment(score=decision.score, reason_codes=tuple(decision.reason_codes),
                                    decision=decision.outcome)
        refusal = ""
        if decision.outcome == "refuse":
            refusal = "identity_frozen" if "identity_frozen" in decision.reason_codes else "risk_refused"
        step_up = []
        for name in decision.step_up_factors:
            try:
                step_up.append(Factor(name))
            except ValueError:
                continue
        return RiskVerdict(assessment=assessment, step_up=tuple(step_up), refusal=refusal)

    def _conn(self, uow: UnitOfWork) -> Connection:
        """The unit of work's own connection: the risk engine records and counts in the step's transaction."""
        if not isinstance(uow, SqlUnitOfWork):
            raise TypeError("the risk engine runs on the SQL unit of work")
        return uow.connection

    def at_start(self, uow: UnitOfWork, *, context: ApplicationContext, session_id: str, phone_e164: str,
                 phone_recently_changed: bool) -> RiskVerdict:
        subject = subject_from_identifiers(self._index, tenant=self._tenant, applicant_id=context.applicant_id,
                                           phone=phone_e164 or None, device_id=context.device_id or None,
                                           ip=context.client_ip or None)
        decision = self._engine.evaluate(self._conn(uow), RiskEvent(
            stage="start", subject=subject, session_id=session_id, phone_recently_changed=phone_recently_changed))
        return self._verdict(decision)

    def after_factor(self, uow: UnitOfWork, *, session: VerificationSession, result: FactorResult) -> RiskVerdict:
        ctx = session.context
        subject = subject_from_identifiers(self._index, tenant=self._tenant, applicant_id=ctx.applicant_id,
                                           device_id=ctx.device_id or None, ip=ctx.client_ip or None)
        decision = self._engine.evaluate(self._conn(uow), RiskEvent(
            stage="factor", subject=subject, session_id=session.session_id, factor=result.factor.value,
            factor_passed=result.outcome is Outcome.PASSED))
        return self._verdict(decision)
