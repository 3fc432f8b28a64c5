"""Face factors over gRPC: a liveness capture, the token's assurance, enrolment, a later verification matched
against the enrolled face, replays, the challenge budget, capture-key signatures and PAD.

The photographs are portraits, not recordings: a capture here is a frontal portrait re-rendered as a rigid head
turning left or right, under the challenge's screen colours (tests/adapters/liveness/synth.py), at camera timing.
The renders cannot tilt a head up or down convincingly, so the tests ask for challenges until one with left/right
turns only is drawn; the service therefore runs with a larger per-verification challenge budget than the default.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import grpc
import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
from idverify.factors.liveness import frame_message
from idverify.ml.imaging import from_pixels
from tests.adapters.liveness.synth import Face, Frame, capture, encode, fit
from tests.shared_data import shared_path
from tests.transport.conftest import Running, running_app
from tests.transport.test_server import context, reason_of
from tests.transport.test_verification_flow import latest_code

V = verification_pb2
pytestmark = [pytest.mark.shared_data, pytest.mark.slow]
AMOUNT = "6000.00"  # the default policy asks for liveness from 5,000 CNY
TURNS = {V.HEAD_POSE_LEFT: "left", V.HEAD_POSE_RIGHT: "right", V.HEAD_POSE_CENTRE: "centre"}


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_path("faces", "deepface-unit")


def pixels_of(faces: Path, name: str) -> np.ndarray:  # type: ignore[type-arg]
    pixels = cv2.imread(str(faces / name))
    assert pixels is not None, name
    return fit(np.asarray(pixels, dtype=np.uint8))


def app_with(tmp_path: Path, **env: str) -> Iterator[Running]:
    with running_app(tmp_path, IDVERIFY_LIVENESS_CHALLENGES_PER_VERIFICATION="60",
                     IDVERIFY_LIVENESS_CHALLENGES_PER_HOUR="500", **env) as r:
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


def turn_challenge(running: Running, stub: verification_pb2_grpc.VerificationServiceStub, sid: str,
                   loan: str, amount: str = AMOUNT, capture_key_jwk: str = "") -> V.LivenessChallenge:
    """Ask for challenges until the server draws left/right turns only (the renders cannot tilt a head)."""
    for _ in range(50):
        challenge = stub.StartLivenessChallenge(V.StartLivenessChallengeRequest(
            context=ctx(loan=loan, amount=amount), session_id=sid, capture_key_jwk=capture_key_jwk),
            metadata=running.md()).challenge
        if all(s.pose in TURNS for s in challenge.steps):
            assert challenge.steps[-1].pose == V.HEAD_POSE_CENTRE and all(s.guidance for s in challenge.steps)
            assert challenge.light_steps[0].rgb == 0xFFFFFF
            assert challenge.capture.min_frames <= challenge.capture.max_frames
            return challenge
    raise AssertionError("the server never drew a left/right challenge in 50 tries")


@functools.cache
def render_detector() -> Any:
    """The detector that places the face for :func:`render`, loaded once (not once per render)."""
    from idverify.ml.detector import load_detector
    from idverify.ml.model_registry import ModelRegistry
    from idverify.ml.onnx_sessions import SessionConfig
    from tests.adapters.liveness.conftest import MODELS_DIR

    return load_detector(ModelRegistry.load(MODELS_DIR), "yunet-2023mar",
                         SessionConfig(intra_op_threads=1, inter_op_threads=1, allow_gpu=False))


def render(faces: Path, name: str, challenge: V.LivenessChallenge, seed: int = 1) -> list[Frame]:
    """A synthetic capture of the photo answering the challenge, timed so it ends now (as a live capture would)."""
    pixels = pixels_of(faces, name)
    face = Face.of(max(render_detector().detect(from_pixels(pixels)), key=lambda f: f.box.area))
    light = [(((s.rgb >> 16) / 255, (s.rgb >> 8 & 255) / 255, (s.rgb & 255) / 255), s.duration_ms)
             for s in challenge.light_steps]
    issued_ms = challenge.issued_at.seconds * 1000 + challenge.issued_at.nanos // 1_000_000
    frames = capture(pixels, face, light=light, poses=[TURNS[s.pose] for s in challenge.steps], t0_ms=0,
                     rng=np.random.default_rng(seed))
    span = frames[-1].t_ms
    start = issued_ms - 1_500  # the capture began just before the challenge reached the server's log
    while time.time() * 1000 < start + span + 50:  # wait until the capture would have ended
        time.sleep(0.05)
    return [Frame(f.pixels, start + f.t_ms, f.light_step) for f in frames]


def frames_for(challenge: V.LivenessChallenge, sid: str, loan: str, frames: list[Frame],
               context_of: common_pb2.ApplicationContext | None = None,
               key: ec.EllipticCurvePrivateKey | None = None) -> Iterator[V.SubmitLivenessFramesRequest]:
    for n, f in enumerate(frames):
        image = encode(f.pixels)
        signature = b""
        if key is not None:
            der = key.sign(frame_message(image, challenge.nonce, n, f.t_ms), ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        yield V.SubmitLivenessFramesRequest(
            context=(context_of or ctx(loan=loan)) if n == 0 else None, session_id=sid,
            challenge_id=challenge.challenge_id, nonce=challenge.nonce, captured_at_ms=f.t_ms, image=image,
            sequence=n, light_step=f.light_step, signature=signature)


#: A rendered capture (a photograph turned as a rigid head) is judged discontinuous for a few random challenges:
#: about 1 in 25 here. The judgement is deterministic for its challenge: right, left, right under one light sequence
#: renders one pair of frames whose estimated yaw moves 0.23 (``ContinuityConfig.max_pose_step`` is 0.2) although
#: the render turns the head by the same 4.5 degrees every frame, so the pose estimate's noise on this photograph
#: reaches the threshold. The flow tests below are about what follows a capture, so they draw a fresh challenge
#: then, at most twice; docs/reports/liveness-attacks.md measures the checks themselves.
RENDER_RETRIES = 2


def render_only_discontinuous(answer: V.SubmitLivenessFramesResponse) -> bool:
    return (answer.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
            and list(answer.reason_codes) == ["liveness_discontinuous"])


def live(running: Running, stub: verification_pb2_grpc.VerificationServiceStub, faces: Path, sid: str, loan: str,
         name: str = "img37.jpg", amount: str = AMOUNT, context_of: common_pb2.ApplicationContext | None = None,
         capture_key_jwk: str = "", key: ec.EllipticCurvePrivateKey | None = None) -> V.SubmitLivenessFramesResponse:
    for _ in range(RENDER_RETRIES + 1):
        challenge = turn_challenge(running, stub, sid, loan, amount=amount, capture_key_jwk=capture_key_jwk)
        answer = stub.SubmitLivenessFrames(frames_for(challenge, sid, loan, render(faces, name, challenge),
                                                      context_of=context_of, key=key), metadata=running.md())
        if not render_only_discontinuous(answer):
            break
    return answer


def test_liveness_then_enrolment_then_a_later_loan_matched_against_the_enrolled_face(no_pad: Running,
                                                                                    faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(no_pad.channel)
    sid = open_with_otp(no_pad, stub, "L-1")
    answer = live(no_pad, stub, faces, sid, "L-1")
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
    answer = live(no_pad, stub, faces, second, "L-2")
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
    live(no_pad, stub, faces, sid, "L-1")
    stub.EnrollFace(V.EnrollFaceRequest(context=ctx(), session_id=sid, consent=V.Consent(
        biometric_processing=True, text_version="v1")), metadata=no_pad.md())
    second = open_with_otp(no_pad, stub, "L-2")
    answer = live(no_pad, stub, faces, second, "L-2", name="img17.jpg")  # Jack Dorsey, not the account holder
    matches = {m.factor: m for m in answer.face_matches}
    if answer.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED:
        assert matches[common_pb2.FACTOR_FACE_MATCH_ENROLLED].outcome == common_pb2.FACTOR_OUTCOME_FAILED
    else:  # the impostor's capture did not even pass liveness: still no match and no completion
        assert common_pb2.FACTOR_FACE_MATCH_ENROLLED not in matches
    with pytest.raises(grpc.RpcError) as err:
        stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx(loan="L-2"), session_id=second),
                                  metadata=no_pad.md())
    assert reason_of(err.value) == "factors_incomplete"


def test_a_static_photo_fails_and_a_challenge_cannot_be_answered_twice(no_pad: Running, faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(no_pad.channel)
    sid = open_with_otp(no_pad, stub, "L-1")
    challenge = turn_challenge(no_pad, stub, sid, "L-1")
    genuine = render(faces, "img37.jpg", challenge)
    static = [Frame(genuine[0].pixels, f.t_ms, f.light_step) for f in genuine]
    answer = stub.SubmitLivenessFrames(frames_for(challenge, sid, "L-1", static), metadata=no_pad.md())
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
    assert "liveness_static_or_replayed" in answer.reason_codes
    # The applicant is not told which check caught the replay.
    assert answer.result.message == "The liveness check did not pass. Please start again."
    with pytest.raises(grpc.RpcError) as err:
        stub.SubmitLivenessFrames(frames_for(challenge, sid, "L-1", genuine), metadata=no_pad.md())
    assert reason_of(err.value) == "liveness_challenge_used"


def test_challenges_are_scarce_and_a_refused_one_is_recorded(tmp_path: Path) -> None:
    with running_app(tmp_path, IDVERIFY_PAD="off") as r:
        stub = verification_pb2_grpc.VerificationServiceStub(r.channel)
        sid = open_with_otp(r, stub, "L-1")
        request = V.StartLivenessChallengeRequest(context=ctx(), session_id=sid)
        for _ in range(3):
            stub.StartLivenessChallenge(request, metadata=r.md())
        with pytest.raises(grpc.RpcError) as err:
            stub.StartLivenessChallenge(request, metadata=r.md())
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert reason_of(err.value) == "liveness_challenges_exhausted"
        attempts = stub.GetVerification(V.GetVerificationRequest(context=ctx(), session_id=sid),
                                        metadata=r.md()).verification.results
        assert [a.reason_code for a in attempts if a.factor == common_pb2.FACTOR_LIVENESS] == [
            "liveness_challenges_exhausted"]


def test_a_registered_capture_key_must_sign_every_frame(no_pad: Running, faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(no_pad.channel)
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    jwk = json.dumps({"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y)})
    sid = open_with_otp(no_pad, stub, "L-1")
    challenge = turn_challenge(no_pad, stub, sid, "L-1", capture_key_jwk=jwk)
    assert challenge.capture_key_registered
    frames = render(faces, "img37.jpg", challenge)
    unsigned = stub.SubmitLivenessFrames(frames_for(challenge, sid, "L-1", frames), metadata=no_pad.md())
    assert unsigned.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
    # Unsigned frames are refused for that reason (another check may also object to a rendered capture).
    assert "liveness_capture_signature" in list(unsigned.reason_codes)
    signed = live(no_pad, stub, faces, sid, "L-1", capture_key_jwk=jwk, key=key)
    assert signed.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED, list(signed.reason_codes)
    with pytest.raises(grpc.RpcError) as err:
        stub.StartLivenessChallenge(V.StartLivenessChallengeRequest(context=ctx(), session_id=sid,
                                                                    capture_key_jwk='{"kty":"RSA"}'),
                                    metadata=no_pad.md())
    assert reason_of(err.value) == "capture_key_invalid"


def test_with_passive_pad_the_answer_says_pad_ran(with_pad: Running, faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(with_pad.channel)
    sid = open_with_otp(with_pad, stub, "L-1")
    answer = live(with_pad, stub, faces, sid, "L-1")
    assert answer.passive_pad_ran is True
    # Every other check passes on this capture; PAD alone decides (renders of a photograph are what it exists to
    # refuse, so either verdict is PAD's own).
    assert set(answer.reason_codes) <= {"pad_attack_suspected"}
    passed = answer.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED
    assert passed == (not answer.reason_codes)
