"""VerificationService: thin conversion between messages and the verification use cases."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from idverify.api.v1 import verification_pb2 as pb
from idverify.api.v1 import verification_pb2_grpc
from idverify.domain.errors import InvalidArgument, Unimplemented
from idverify.factors.liveness import SubmittedFrame
from idverify.transport import convert, document_convert, edge
from idverify.transport.edge import PhoneRules
from idverify.usecases.document import DocumentSteps
from idverify.usecases.face import CaptureDeclaration, FaceSteps
from idverify.usecases.otp import OtpSteps
from idverify.usecases.verification import StartRequest, Verifications


def not_built(factor: str) -> Unimplemented:
    return Unimplemented("factor_not_available", f"the {factor} factor is not available on this deployment")


class VerificationServicer(verification_pb2_grpc.VerificationServiceServicer):
    def __init__(self, verifications: Verifications, *, otp: OtpSteps | None = None, face: FaceSteps | None = None,
                 document: DocumentSteps | None = None, max_liveness_frames: int = 20,
                 max_liveness_bytes: int = 48 * 1024 * 1024, phones: PhoneRules | None = None) -> None:
        self._phones = phones or PhoneRules()
        self._v = verifications
        self._document = document
        self._otp = otp
        self._face = face
        self._max_frames = max_liveness_frames
        self._max_bytes = max_liveness_bytes

    def StartVerification(self, request: pb.StartVerificationRequest, context: grpc.ServicerContext
                          ) -> pb.StartVerificationResponse:
        session = self._v.start(
            StartRequest(
                context=convert.context(request.context, present=request.HasField("context")),
                phone_e164=self._phones.optional(request.phone_e164),
                payout_account=edge.payout_account(request.payout_account),
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

    def _otp_steps(self) -> OtpSteps:
        if self._otp is None:
            raise not_built("one-time code")
        return self._otp

    def SendOtp(self, request: pb.SendOtpRequest, context: grpc.ServicerContext) -> pb.SendOtpResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        receipt = self._otp_steps().send(ctx, convert.session_id(request.session_id))
        return pb.SendOtpResponse(
            expires_at=convert.timestamp(receipt.expires_at),
            resend_after=convert.timestamp(receipt.resend_after),
            code_length=receipt.code_length,
            masked_destination=receipt.masked_phone,
        )

    def CheckOtp(self, request: pb.CheckOtpRequest, context: grpc.ServicerContext) -> pb.CheckOtpResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        if request.channel not in (pb.OTP_CHANNEL_SMS, pb.OTP_CHANNEL_TOTP):
            raise InvalidArgument("otp_channel_invalid", "channel must be OTP_CHANNEL_SMS or OTP_CHANNEL_TOTP")
        checked = self._otp_steps().check(ctx, convert.session_id(request.session_id), request.code[:32],
                                          totp=request.channel == pb.OTP_CHANNEL_TOTP)
        return pb.CheckOtpResponse(result=convert.factor_result(checked.result, ctx.locale),
                                   attempts_left=checked.attempts_left)

    def EnrollTotp(self, request: pb.EnrollTotpRequest, context: grpc.ServicerContext) -> pb.EnrollTotpResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        enrolment = self._otp_steps().enroll_totp(ctx, convert.session_id(request.session_id))
        return pb.EnrollTotpResponse(provisioning_uri=enrolment.provisioning_uri)

    def SubmitDocument(self, request: pb.SubmitDocumentRequest, context: grpc.ServicerContext
                       ) -> pb.SubmitDocumentResponse:
        if self._document is None:
            raise not_built("document")
        ctx = convert.context(request.context, present=request.HasField("context"))
        done = self._document.submit(
            ctx, convert.session_id(request.session_id), document_convert.document_type(request.document_type),
            front=request.front_image, back=request.back_image,
            claims=document_convert.claims(request.typed, request.HasField("typed")),
            holder=document_convert.holder(request.holder_record, request.HasField("holder_record")))
        return pb.SubmitDocumentResponse(
            result=convert.factor_result(done.result, ctx.locale),
            extracted=document_convert.extracted(done.fields, done.decision),
            checks=document_convert.checks(done.decision),
            decision=done.decision.outcome.value,
        )

    def _face_steps(self) -> FaceSteps:
        if self._face is None:
            raise not_built("face")
        return self._face

    def StartLivenessChallenge(self, request: pb.StartLivenessChallengeRequest, context: grpc.ServicerContext
                               ) -> pb.StartLivenessChallengeResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        declaration = CaptureDeclaration(
            mirrored=request.mirrored, capture_key_jwk=request.capture_key_jwk[:2048],
            attestation_platform=request.attestation.platform[:32], attestation_token=request.attestation.token)
        steps = self._face_steps()
        challenge_id, challenge = steps.start_liveness(ctx, convert.session_id(request.session_id), declaration)
        rules = steps.capture_rules()
        return pb.StartLivenessChallengeResponse(challenge=pb.LivenessChallenge(
            challenge_id=challenge_id,
            nonce=challenge.nonce,
            steps=[pb.LivenessStep(pose=convert.POSE_TO_PB[step.pose], guidance=step.guidance[ctx.locale])
                   for step in challenge.steps],
            issued_at=convert.timestamp(challenge.issued_at),
            deadline=convert.timestamp(challenge.deadline),
            light_steps=[pb.LightStep(rgb=step.rgb, duration_ms=step.duration_ms) for step in challenge.light],
            capture=pb.LivenessCapture(
                min_frames=rules.min_frames, max_frames=rules.max_frames, min_interval_ms=rules.min_interval_ms,
                max_interval_ms=rules.max_interval_ms, max_median_interval_ms=rules.max_median_interval_ms,
                max_frame_pixels=rules.max_frame_pixels,
                min_frames_per_light_step=rules.min_frames_per_light_step),
            capture_key_registered=challenge.capture_key is not None,
        ))

    def SubmitLivenessFrames(self, request_iterator: Iterator[pb.SubmitLivenessFramesRequest],
                             context: grpc.ServicerContext) -> pb.SubmitLivenessFramesResponse:
        steps = self._face_steps()
        first = next(request_iterator, None)
        if first is None:
            raise InvalidArgument("liveness_frame_count", "no frames were sent")
        ctx = convert.context(first.context, present=first.HasField("context"))
        session_id = convert.session_id(first.session_id)
        challenge_id = convert.session_id(first.challenge_id)
        frames: list[SubmittedFrame] = []
        total = 0
        for message in (first, *request_iterator):
            if (message.session_id and message.session_id != session_id) or (
                    message.challenge_id and message.challenge_id != challenge_id):
                raise InvalidArgument("liveness_stream_mixed", "all frames must belong to one challenge")
            total += len(message.image)
            if len(frames) >= self._max_frames or total > self._max_bytes:
                raise InvalidArgument("liveness_frame_count", f"send at most {self._max_frames} frames")
            frames.append(SubmittedFrame(
                image=message.image, captured_at_ms=message.captured_at_ms, nonce=message.nonce[:128],
                mirrored=message.mirrored if message.HasField("mirrored") else None, sequence=message.sequence,
                light_step=message.light_step, signature=message.signature[:256]))
        outcome = steps.submit_frames(ctx, session_id, challenge_id, frames)
        return pb.SubmitLivenessFramesResponse(
            result=convert.factor_result(outcome.result, ctx.locale),
            reason_codes=list(outcome.liveness.reason_codes),
            passive_pad_ran=outcome.liveness.pad_ran,
            face_matches=[convert.factor_result(m, ctx.locale) for m in outcome.matches],
        )

    def EnrollFace(self, request: pb.EnrollFaceRequest, context: grpc.ServicerContext) -> pb.EnrollFaceResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        template = self._face_steps().enroll(ctx, convert.session_id(request.session_id),
                                             consent=request.consent.biometric_processing,
                                             consent_text_version=request.consent.text_version)
        return pb.EnrollFaceResponse(template_id=template.template_id, model_id=template.embedding.model_id,
                                     enrolled_at=convert.timestamp(template.enrolled_at))
