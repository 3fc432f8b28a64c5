"""Conversions between protobuf messages and domain values. Protobuf types never enter the domain."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from idverify.api.v1 import common_pb2, verification_pb2
from idverify.domain.errors import InvalidArgument
from idverify.domain.session import Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Money, Outcome
from idverify.factors.liveness import Pose
from idverify.transport.texts import text_for

FACTOR_TO_PB = {
    Factor.SMS_OTP: common_pb2.FACTOR_SMS_OTP,
    Factor.TOTP: common_pb2.FACTOR_TOTP,
    Factor.DOCUMENT: common_pb2.FACTOR_DOCUMENT,
    Factor.LIVENESS: common_pb2.FACTOR_LIVENESS,
    Factor.FACE_MATCH_DOCUMENT: common_pb2.FACTOR_FACE_MATCH_DOCUMENT,
    Factor.FACE_MATCH_ENROLLED: common_pb2.FACTOR_FACE_MATCH_ENROLLED,
    Factor.DEVICE_KEY: common_pb2.FACTOR_DEVICE_KEY,
}
OUTCOME_TO_PB = {
    Outcome.PASSED: common_pb2.FACTOR_OUTCOME_PASSED,
    Outcome.FAILED: common_pb2.FACTOR_OUTCOME_FAILED,
    Outcome.INCONCLUSIVE: common_pb2.FACTOR_OUTCOME_INCONCLUSIVE,
}
POSE_TO_PB = {
    Pose.CENTRE: verification_pb2.HEAD_POSE_CENTRE,
    Pose.LEFT: verification_pb2.HEAD_POSE_LEFT,
    Pose.RIGHT: verification_pb2.HEAD_POSE_RIGHT,
    Pose.UP: verification_pb2.HEAD_POSE_UP,
    Pose.DOWN: verification_pb2.HEAD_POSE_DOWN,
}
STATUS_TO_PB = {
    Status.CREATED: verification_pb2.VERIFICATION_STATUS_CREATED,
    Status.IN_PROGRESS: verification_pb2.VERIFICATION_STATUS_IN_PROGRESS,
    Status.COMPLETED: verification_pb2.VERIFICATION_STATUS_COMPLETED,
    Status.FAILED: verification_pb2.VERIFICATION_STATUS_FAILED,
    Status.EXPIRED: verification_pb2.VERIFICATION_STATUS_EXPIRED,
    Status.CANCELLED: verification_pb2.VERIFICATION_STATUS_CANCELLED,
}


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def money(msg: common_pb2.Money) -> Money:
    return Money.parse(msg.value, msg.currency)


def context(msg: common_pb2.ApplicationContext, *, present: bool = True) -> ApplicationContext:
    """Validate and convert the context every applicant-facing request carries."""
    if not present:
        raise InvalidArgument("context_missing", "the application context is required")
    return ApplicationContext.create(
        applicant_id=msg.applicant_id,
        loan_application_id=msg.loan_application_id,
        amount=money(msg.amount),
        device_id=msg.device_id,
        client_ip=msg.client_ip,
        locale=msg.locale,
    )


def session_id(value: str) -> str:
    if not value:
        raise InvalidArgument("session_id_missing", "session_id is required")
    if len(value) > 40 or not value.isascii() or not value.replace("_", "").isalnum():
        raise InvalidArgument("session_id_invalid", "session_id is not a verification id")
    return value


def factor_result(result: FactorResult, locale: str = "zh-CN") -> common_pb2.FactorResult:
    return common_pb2.FactorResult(
        message=text_for(result.reason_code, locale),
        factor=FACTOR_TO_PB[result.factor],
        outcome=OUTCOME_TO_PB[result.outcome],
        reason_code=result.reason_code,
        at=timestamp(result.at),
        score=result.score,
        threshold=result.threshold,
        model_id=result.model_id,
    )


def verification(session: VerificationSession) -> verification_pb2.Verification:
    return verification_pb2.Verification(
        session_id=session.session_id,
        status=STATUS_TO_PB[session.status],
        required_factors=[FACTOR_TO_PB[f] for f in session.required],
        passed_factors=[FACTOR_TO_PB[f] for f in session.passed],
        results=[factor_result(r, session.context.locale) for r in session.results],
        created_at=timestamp(session.created_at),
        expires_at=timestamp(session.expires_at),
        reference=session.reference,
        risk=verification_pb2.RiskAssessment(
            score=session.risk.score, reason_codes=list(session.risk.reason_codes), decision=session.risk.decision
        ),
        reason_code=session.reason_code,
    )
