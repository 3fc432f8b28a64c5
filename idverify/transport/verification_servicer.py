"""VerificationService: thin conversion between messages and the verification use cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from idverify.api.v1 import verification_pb2 as pb
from idverify.api.v1 import verification_pb2_grpc
from idverify.domain.errors import Unimplemented
from idverify.transport import convert
from idverify.usecases.verification import StartRequest, Verifications


def not_built(factor: str) -> Unimplemented:
    return Unimplemented("factor_not_available", f"the {factor} factor is not available on this deployment")


class VerificationServicer(verification_pb2_grpc.VerificationServiceServicer):
    def __init__(self, verifications: Verifications) -> None:
        self._v = verifications

    def StartVerification(self, request: pb.StartVerificationRequest, context: grpc.ServicerContext
                          ) -> pb.StartVerificationResponse:
        session = self._v.start(
            StartRequest(
                context=convert.context(request.context, present=request.HasField("context")),
                phone_e164=request.phone_e164,
                payout_account=request.payout_account,
                first_loan=request.first_loan,
                phone_recently_changed=request.phone_recently_changed,
                biometric_consent=request.consent.biometric_processing,
                consent_text_version=request.consent.text_version[:64],
            )
        )
        return pb.StartVerificationResponse(verification=convert.verification(session))

    def GetVerification(self, request: pb.GetVerificationRequest, context: grpc.ServicerContext
                        ) -> pb.GetVerificationResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        session = self._v.get(ctx, convert.session_id(request.session_id))
        return pb.GetVerificationResponse(verification=convert.verification(session))

    def CancelVerification(self, request: pb.CancelVerificationRequest, context: grpc.ServicerContext
                           ) -> pb.CancelVerificationResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        session = self._v.cancel(ctx, convert.session_id(request.session_id))
        return pb.CancelVerificationResponse(verification=convert.verification(session))

    def CompleteVerification(self, request: pb.CompleteVerificationRequest, context: grpc.ServicerContext
                             ) -> pb.CompleteVerificationResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        done = self._v.complete(ctx, convert.session_id(request.session_id), request.key_thumbprint)
        return pb.CompleteVerificationResponse(
            verification=convert.verification(done.session),
            token=done.token.token,
            token_expires_at=convert.timestamp(done.token.expires_at),
        )

    def SendOtp(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise not_built("SMS one-time code")

    def CheckOtp(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise not_built("one-time code")

    def EnrollTotp(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise not_built("TOTP")

    def SubmitDocument(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise not_built("document")

    def StartLivenessChallenge(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise not_built("liveness")

    def SubmitLivenessFrames(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:
        raise not_built("liveness")

    def EnrollFace(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise not_built("face")
