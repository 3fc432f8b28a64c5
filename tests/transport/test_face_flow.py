"""Face factors over gRPC on real photographs: a liveness challenge answered with photos in the asked poses,
the token's assurance, enrolment, a later verification matched against the enrolled face, replays and PAD.

The photographs are portraits, not head-turn recordings (docs/reports/head-pose-calibration.md): their most turned
faces reach an image yaw of about 0.19, so these tests run the service with IDVERIFY_LIVENESS_TURN_YAW=0.14. They
test the wiring and the decisions, not the production turn threshold.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest

from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
from tests.shared_data import shared_path
from tests.transport.conftest import Running, running_app
from tests.transport.test_server import context, reason_of
from tests.transport.test_verification_flow import latest_code

V = verification_pb2
pytestmark = [pytest.mark.shared_data, pytest.mark.slow]
AMOUNT = "6000.00"  # the default policy asks for liveness from 5,000 CNY
T0 = 1_761_000_000_000


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_path("faces", "deepface-unit")


def photo(faces: Path, name: str, flipped: bool = False) -> bytes:
    if not flipped:
        return (faces / name).read_bytes()
    pixels = np.asarray(cv2.imread(str(faces / name)), dtype=np.uint8)
    return cv2.imencode(".jpg", cv2.flip(pixels, 1), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def app_with(tmp_path: Path, **env: str) -> Iterator[Running]:
    with running_app(tmp_path, IDVERIFY_LIVENESS_TURN_YAW="0.14", **env) as r:
        yield r


@pytest.fixture
def no_pad(tmp_path: Path) -> Iterator[Running]:
    yield from app_with(tmp_path, IDVERIFY_PAD="off")


@pytest.fixture(scope="module")
def pad_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.adapters.pad.conftest import PAD_MANIFEST, require_torch

    require_torch()
    from idverify.ml.pad.build import build_pad_models

    out = tmp_path_factory.mktemp("pad-cache") / "pad"
    build_pad_models(shared_path("pad", "silent-face"), out, manifest_path=PAD_MANIFEST)
    return out


@pytest.fixture
def with_pad(tmp_path: Path, pad_build: Path) -> Iterator[Running]:
    yield from app_with(tmp_path, IDVERIFY_PAD="on", IDVERIFY_PAD_MODELS_DIR=str(pad_build))


def ctx(applicant: str = "acct-1", loan: str = "L-1", amount: str = AMOUNT) -> common_pb2.ApplicationContext:
    return context(applicant=applicant, loan=loan, amount=amount)


def open_with_otp(running: Running, stub: verification_pb2_grpc.VerificationServiceStub, loan: str,
                  amount: str = AMOUNT) -> str:
    def ctx(loan: str) -> common_pb2.ApplicationContext:
        return context(loan=loan, amount=amount)

    request = V.StartVerificationRequest(context=ctx(loan=loan), phone_e164="+8613800138000",
                                         payout_account="6222-01", consent=V.Consent(biometric_processing=True,
                                                                                      text_version="v1"))
    sid = stub.StartVerification(request, metadata=running.md()).verification.session_id
    stub.SendOtp(V.SendOtpRequest(context=ctx(loan=loan), session_id=sid), metadata=running.md())
    stub.CheckOtp(V.CheckOtpRequest(context=ctx(loan=loan), session_id=sid, code=latest_code(running),
                                    channel=V.OTP_CHANNEL_SMS), metadata=running.md())
    return sid


def two_step_challenge(running: Running, stub: verification_pb2_grpc.VerificationServiceStub, sid: str,
                       loan: str, amount: str = AMOUNT) -> V.LivenessChallenge:
    """Ask for challenges until the server draws one turn then centre (the photos cover left and right only)."""
    for _ in range(60):
        challenge = stub.StartLivenessChallenge(V.StartLivenessChallengeRequest(context=ctx(loan=loan,
                                                                                            amount=amount),
                                                                                session_id=sid),
                                                metadata=running.md()).challenge
        poses = [s.pose for s in challenge.steps]
        if len(poses) == 2 and poses[0] in (V.HEAD_POSE_LEFT, V.HEAD_POSE_RIGHT):
            assert poses[1] == V.HEAD_POSE_CENTRE and all(s.guidance for s in challenge.steps)
            return challenge
    raise AssertionError("the server never drew a two-step left/right challenge in 60 tries")


def frames_for(faces: Path, challenge: V.LivenessChallenge, sid: str, loan: str,
               images: list[bytes] | None = None, context_of: common_pb2.ApplicationContext | None = None
               ) -> Iterator[V.SubmitLivenessFramesRequest]:
    # img34 is DiCaprio turned to his right; its mirror image is turned to his left; img37 and img36 are frontal.
    turned = photo(faces, "img34.jpg", flipped=challenge.steps[0].pose == V.HEAD_POSE_LEFT)
    images = images or [photo(faces, "img37.jpg"), turned, photo(faces, "img36.jpg")]
    for n, image in enumerate(images):
        yield V.SubmitLivenessFramesRequest(
            context=(context_of or ctx(loan=loan)) if n == 0 else None, session_id=sid,
            challenge_id=challenge.challenge_id, nonce=challenge.nonce, captured_at_ms=T0 + 900 * n, image=image)


def test_liveness_then_enrolment_then_a_later_loan_matched_against_the_enrolled_face(no_pad: Running,
                                                                                    faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(no_pad.channel)
    sid = open_with_otp(no_pad, stub, "L-1")
    challenge = two_step_challenge(no_pad, stub, sid, "L-1")
    answer = stub.SubmitLivenessFrames(frames_for(faces, challenge, sid, "L-1"), metadata=no_pad.md())
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED, list(answer.reason_codes)
    assert answer.passive_pad_ran is False
    done = stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx(), session_id=sid),
                                     metadata=no_pad.md())
    claims = json.loads(base64.urlsafe_b64decode(done.token.split(".")[1] + "=="))
    # Liveness without a face match says nothing about who is there: the token does not claim "face".
    assert claims["amr"] == ["sms"]
    assert claims["acr"] == "urn:idverify:acr:low"

    enrolled = stub.EnrollFace(V.EnrollFaceRequest(context=ctx(), session_id=sid,
                                                   consent=V.Consent(biometric_processing=True, text_version="v1")),
                               metadata=no_pad.md())
    assert enrolled.model_id == "sface-2021dec"

    second = open_with_otp(no_pad, stub, "L-2")
    required = stub.GetVerification(V.GetVerificationRequest(context=ctx(loan="L-2"), session_id=second),
                                    metadata=no_pad.md()).verification.required_factors
    assert common_pb2.FACTOR_FACE_MATCH_ENROLLED in required
    challenge = two_step_challenge(no_pad, stub, second, "L-2")
    answer = stub.SubmitLivenessFrames(frames_for(faces, challenge, second, "L-2"), metadata=no_pad.md())
    matches = {m.factor: m for m in answer.face_matches}
    assert matches[common_pb2.FACTOR_FACE_MATCH_ENROLLED].outcome == common_pb2.FACTOR_OUTCOME_PASSED
    assert matches[common_pb2.FACTOR_FACE_MATCH_ENROLLED].score >= matches[
        common_pb2.FACTOR_FACE_MATCH_ENROLLED].threshold
    done = stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx(loan="L-2"), session_id=second),
                                     metadata=no_pad.md())
    claims = json.loads(base64.urlsafe_b64decode(done.token.split(".")[1] + "=="))
    assert claims["amr"] == ["face", "mfa", "sms"]
    assert claims["acr"] == "urn:idverify:acr:substantial"


def test_another_person_does_not_match_the_enrolled_face(no_pad: Running, faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(no_pad.channel)
    sid = open_with_otp(no_pad, stub, "L-1")
    challenge = two_step_challenge(no_pad, stub, sid, "L-1")
    stub.SubmitLivenessFrames(frames_for(faces, challenge, sid, "L-1"), metadata=no_pad.md())
    stub.EnrollFace(V.EnrollFaceRequest(context=ctx(), session_id=sid, consent=V.Consent(
        biometric_processing=True, text_version="v1")), metadata=no_pad.md())
    second = open_with_otp(no_pad, stub, "L-2")
    challenge = two_step_challenge(no_pad, stub, second, "L-2")
    # Jack Dorsey (img16, turned to his left; img17 and img18 frontal) answers in place of the account holder.
    if challenge.steps[0].pose == V.HEAD_POSE_LEFT:
        images = [photo(faces, "img17.jpg"), photo(faces, "img16.jpg"), photo(faces, "img18.jpg")]
    else:
        images = [photo(faces, "img17.jpg"), photo(faces, "img16.jpg", flipped=True), photo(faces, "img18.jpg")]
    answer = stub.SubmitLivenessFrames(frames_for(faces, challenge, second, "L-2", images), metadata=no_pad.md())
    matches = {m.factor: m for m in answer.face_matches}
    if answer.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED:
        assert matches[common_pb2.FACTOR_FACE_MATCH_ENROLLED].outcome == common_pb2.FACTOR_OUTCOME_FAILED
    else:  # the impostor's own photos did not even pass liveness: still no match and no completion
        assert common_pb2.FACTOR_FACE_MATCH_ENROLLED not in matches
    with pytest.raises(grpc.RpcError) as err:
        stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx(loan="L-2"), session_id=second),
                                  metadata=no_pad.md())
    assert reason_of(err.value) == "factors_incomplete"


def test_a_static_photo_fails_and_a_challenge_cannot_be_answered_twice(no_pad: Running, faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(no_pad.channel)
    sid = open_with_otp(no_pad, stub, "L-1")
    challenge = two_step_challenge(no_pad, stub, sid, "L-1")
    static = [photo(faces, "img36.jpg")] * 3
    answer = stub.SubmitLivenessFrames(frames_for(faces, challenge, sid, "L-1", static), metadata=no_pad.md())
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
    assert "liveness_static_or_replayed" in answer.reason_codes
    # The applicant is not told which check caught the replay.
    assert answer.result.message == "The liveness check did not pass. Please start again."
    with pytest.raises(grpc.RpcError) as err:
        stub.SubmitLivenessFrames(frames_for(faces, challenge, sid, "L-1"), metadata=no_pad.md())
    assert reason_of(err.value) == "liveness_challenge_used"


def test_with_passive_pad_the_token_says_pad_ran_and_a_refused_photo_fails_the_challenge(with_pad: Running,
                                                                                        faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(with_pad.channel)
    sid = open_with_otp(with_pad, stub, "L-1")
    challenge = two_step_challenge(with_pad, stub, sid, "L-1")
    answer = stub.SubmitLivenessFrames(frames_for(faces, challenge, sid, "L-1"), metadata=with_pad.md())
    assert answer.passive_pad_ran is True
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED, list(answer.reason_codes)
    done = stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx(), session_id=sid),
                                     metadata=with_pad.md())
    assert done.verification.status == V.VERIFICATION_STATUS_COMPLETED

    # img35 is one of the 5 deepface-unit portraits PAD scores below its threshold (docs/reports/pad-evaluation.md)
    other = open_with_otp(with_pad, stub, "L-3")
    challenge = two_step_challenge(with_pad, stub, other, "L-3")
    turned = photo(faces, "img34.jpg", flipped=challenge.steps[0].pose == V.HEAD_POSE_LEFT)
    images = [photo(faces, "img37.jpg"), turned, photo(faces, "img35.jpg")]
    answer = stub.SubmitLivenessFrames(frames_for(faces, challenge, other, "L-3", images), metadata=with_pad.md())
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
    assert "pad_attack_suspected" in answer.reason_codes
