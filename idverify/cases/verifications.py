"""What the dispute and freeze services need to know about verifications, read from the session tables (moved
here from storage so that storage imports nothing above it)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from idverify.cases.freeze import VerificationProof
from idverify.cases.service import ReportedVerification
from idverify.domain.values import Factor
from idverify.storage.tables_sessions import factor_results, issued_tokens, verification_sessions
from idverify.usecases.ids import normalise_reference

S, R, T = verification_sessions, factor_results, issued_tokens
_FACE_MATCHES = {Factor.FACE_MATCH_DOCUMENT.value, Factor.FACE_MATCH_ENROLLED.value}


class SqlReportedVerifications:
    """Resolves the reference in the completion SMS (typed any way a person types it) or a loan application id."""

    def by_reference(self, conn: Connection, reference: str) -> ReportedVerification | None:
        ref = normalise_reference(reference)
        if not ref:
            return None
        row = conn.execute(select(S.c.session_id, S.c.applicant_id, S.c.loan_application_id)
                           .where(S.c.reference == ref)).first()
        return None if row is None else ReportedVerification(row[0], row[1], row[2])

    def by_loan_application(self, conn: Connection, loan_application_id: str) -> ReportedVerification | None:
        row = conn.execute(select(S.c.session_id, S.c.applicant_id, S.c.loan_application_id)
                           .where(S.c.loan_application_id == loan_application_id)
                           .order_by(S.c.created_at.desc()).limit(1)).first()
        return None if row is None else ReportedVerification(row[0], row[1], row[2])


class SqlVerificationProofs:
    """A verification counts as high assurance for an unfreeze when it completed with liveness and a face match
    (the person, present, matched against a document or the enrolled face) plus a possession factor."""

    def proof(self, conn: Connection, verification_id: str) -> VerificationProof | None:
        row = conn.execute(select(S.c.applicant_id, S.c.status, S.c.completed_at)
                           .where(S.c.session_id == verification_id)).first()
        if row is None:
            return None
        passed = {r[0] for r in conn.execute(select(R.c.factor).where(R.c.session_id == verification_id,
                                                                       R.c.outcome == "passed"))}
        high = (Factor.LIVENESS.value in passed and bool(passed & _FACE_MATCHES)
                and bool(passed & {Factor.SMS_OTP.value, Factor.TOTP.value}))
        return VerificationProof(verification_id=verification_id, applicant_id=row[0],
                                 completed=row[1] == "completed", high_assurance=high, completed_at=row[2])


def evidence_of(conn: Connection, session_id: str) -> dict[str, Any]:
    """Everything stored about one verification, without personal or biometric data (no phone, payout account,
    templates or images): context ids, amounts, factor results with scores, thresholds and models, and tokens."""
    row = conn.execute(select(S).where(S.c.session_id == session_id)).mappings().first()
    if row is None:
        return {}
    results = conn.execute(select(R).where(R.c.session_id == session_id).order_by(R.c.seq)).mappings()
    tokens = conn.execute(select(T).where(T.c.session_id == session_id)).mappings()
    return {
        "session_id": session_id,
        "reference": row["reference"],
        "applicant_id": row["applicant_id"],
        "loan_application_id": row["loan_application_id"],
        "amount": {"value": f"{row['amount']:.2f}", "currency": row["currency"]},
        "device_id": row["device_id"],
        "client_ip": row["client_ip"],
        "status": row["status"],
        "required_factors": json.loads(row["required_factors"]),
        "risk": {"score": row["risk_score"], "decision": row["risk_decision"],
                 "reasons": json.loads(row["risk_reasons"] or "[]")},
        "biometric_consent": row["biometric_consent"],
        "created_at": row["created_at"].isoformat(),
        "completed_at": row["completed_at"].isoformat() if row["completed_at"] else None,
        "factor_results": [
            {"factor": r["factor"], "outcome": r["outcome"], "reason_code": r["reason_code"],
             "at": r["at"].isoformat(), "score": r["score"], "threshold": r["threshold"], "model_id": r["model_id"],
             "pad_ran": r["pad_ran"]} for r in results],
        "tokens": [
            {"token_id": t["jti"], "issued_at": t["issued_at"].isoformat(), "expires_at": t["expires_at"].isoformat(),
             "redeemed_at": t["redeemed_at"].isoformat() if t["redeemed_at"] else None,
             "revoked_at": t["revoked_at"].isoformat() if t["revoked_at"] else None,
             "revoke_reason": t["revoke_reason"]} for t in tokens],
    }
