"""``SessionRepository`` on SQLAlchemy Core, inside a unit of work's connection."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, select
from sqlalchemy.exc import IntegrityError

from idverify.domain.errors import Aborted, AlreadyExists, NotFound
from idverify.domain.ports import FieldProtector
from idverify.domain.repositories import SessionSecrets
from idverify.domain.session import RiskAssessment, Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Money, Outcome
from idverify.storage.tables_sessions import OPEN_STATUSES, factor_results, verification_sessions

S = verification_sessions
R = factor_results


class SqlSessionRepository:
    def __init__(self, conn: Connection, protector: FieldProtector) -> None:
        self._conn = conn
        self._protector = protector

    def add(self, session: VerificationSession, secrets: SessionSecrets) -> None:
        values = _row(session)
        sid = session.session_id
        values["phone_sealed"] = (
            self._protector.seal(secrets.phone_e164, f"sessions.phone.{sid}") if secrets.phone_e164 else None
        )
        values["payout_account_sealed"] = (
            self._protector.seal(secrets.payout_account, f"sessions.payout.{sid}") if secrets.payout_account else None
        )
        try:
            with self._conn.begin_nested():
                self._conn.execute(S.insert().values(**values))
        except IntegrityError:
            raise AlreadyExists(
                "verification_already_open", "an open verification exists for this application"
            ) from None
        self._insert_results(session, start=0)

    def get(self, session_id: str, *, for_update: bool = False) -> VerificationSession:
        query = select(S).where(S.c.session_id == session_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).mappings().first()
        if row is None:
            raise NotFound("session_not_found", "no such verification")
        return self._load(row)

    def find_open(self, applicant_id: str, loan_application_id: str) -> VerificationSession | None:
        row = self._conn.execute(
            select(S).where(
                S.c.applicant_id == applicant_id,
                S.c.loan_application_id == loan_application_id,
                S.c.status.in_(OPEN_STATUSES),
            )
        ).mappings().first()
        return None if row is None else self._load(row)

    def find_by_reference(self, reference: str) -> VerificationSession | None:
        row = self._conn.execute(select(S).where(S.c.reference == reference)).mappings().first()
        return None if row is None else self._load(row)

    def update(self, session: VerificationSession) -> VerificationSession:
        values = _row(session)
        for key in ("session_id", "reference", "created_at"):
            values.pop(key)
        values["version"] = session.version + 1
        result = self._conn.execute(
            S.update()
            .where(S.c.session_id == session.session_id, S.c.version == session.version)
            .values(**values)
            .returning(S.c.version)
        ).first()
        if result is None:
            raise Aborted("concurrent_update", "the verification changed concurrently; retry")
        stored = self._conn.execute(
            select(R.c.seq).where(R.c.session_id == session.session_id).order_by(R.c.seq.desc()).limit(1)
        ).scalar()
        self._insert_results(session, start=0 if stored is None else stored + 1)
        return replace(session, version=session.version + 1)

    def secrets(self, session_id: str) -> SessionSecrets:
        row = self._conn.execute(
            select(S.c.phone_sealed, S.c.payout_account_sealed).where(S.c.session_id == session_id)
        ).first()
        if row is None:
            raise NotFound("session_not_found", "no such verification")
        phone = self._protector.unseal(row[0], f"sessions.phone.{session_id}") if row[0] else ""
        payout = self._protector.unseal(row[1], f"sessions.payout.{session_id}") if row[1] else ""
        return SessionSecrets(phone_e164=phone, payout_account=payout)

    def _insert_results(self, session: VerificationSession, start: int) -> None:
        new = session.results[start:]
        if not new:
            return
        self._conn.execute(
            R.insert(),
            [
                {
                    "session_id": session.session_id,
                    "seq": start + i,
                    "factor": r.factor.value,
                    "outcome": r.outcome.value,
                    "reason_code": r.reason_code,
                    "at": r.at,
                    "score": r.score,
                    "threshold": r.threshold,
                    "model_id": r.model_id,
                    "pad_ran": r.pad_ran,
                    "evidence": ",".join(r.evidence),
                }
                for i, r in enumerate(new)
            ],
        )

    def _load(self, row: RowMapping) -> VerificationSession:
        results = self._conn.execute(
            select(R).where(R.c.session_id == row["session_id"]).order_by(R.c.seq)
        ).mappings()
        context = ApplicationContext(
            applicant_id=row["applicant_id"],
            loan_application_id=row["loan_application_id"],
            amount=Money(Decimal(row["amount"]).quantize(Decimal("0.01")), row["currency"]),
            device_id=row["device_id"],
            client_ip=row["client_ip"],
            locale=row["locale"],
        )
        return VerificationSession(
            session_id=row["session_id"],
            reference=row["reference"],
            context=context,
            status=Status(row["status"]),
            required=tuple(Factor(f) for f in json.loads(row["required_factors"])),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            results=tuple(
                FactorResult(
                    factor=Factor(r["factor"]),
                    outcome=Outcome(r["outcome"]),
                    reason_code=r["reason_code"],
                    at=r["at"],
                    score=r["score"],
                    threshold=r["threshold"],
                    model_id=r["model_id"],
                    pad_ran=r["pad_ran"],
                    evidence=tuple(e for e in (r["evidence"] or "").split(",") if e),
                )
                for r in results
            ),
            reason_code=row["reason_code"],
            risk=RiskAssessment(
                score=row["risk_score"],
                reason_codes=tuple(json.loads(row["risk_reasons"] or "[]")),
                decision=row["risk_decision"],
            ),
            first_loan=row["first_loan"],
            phone_recently_changed=row["phone_recently_changed"],
            biometric_consent=row["biometric_consent"],
            consent_text_version=row["consent_text_version"],
            completed_at=row["completed_at"],
            version=row["version"],
        )


def _row(session: VerificationSession) -> dict[str, Any]:
    ctx = session.context
    return {
        "session_id": session.session_id,
        "reference": session.reference,
        "applicant_id": ctx.applicant_id,
        "loan_application_id": ctx.loan_application_id,
        "amount": ctx.amount.value,
        "currency": ctx.amount.currency,
        "device_id": ctx.device_id,
        "client_ip": ctx.client_ip,
        "locale": ctx.locale,
        "status": session.status.value,
        "required_factors": json.dumps([f.value for f in session.required]),
        "reason_code": session.reason_code,
        "risk_score": session.risk.score,
        "risk_reasons": json.dumps(list(session.risk.reason_codes)),
        "risk_decision": session.risk.decision,
        "first_loan": session.first_loan,
        "phone_recently_changed": session.phone_recently_changed,
        "biometric_consent": session.biometric_consent,
        "consent_text_version": session.consent_text_version,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "completed_at": session.completed_at,
        "version": session.version,
    }


def mark_disputed(conn: Connection, session_id: str) -> None:
    """Say on a verification that it was reported ("I never applied"), whatever its state; bumps ``version`` so a
    concurrent step that read it before fails with ``concurrent_update``."""
    conn.execute(S.update().where(S.c.session_id == session_id)
                 .values(reason_code="disputed", version=S.c.version + 1))
