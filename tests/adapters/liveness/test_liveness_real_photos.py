"""Liveness end to end on captures synthesised from real photographs: decode, YuNet, SFace, pose, evaluate.

The deepface-unit folder holds portraits, not recordings. A genuine capture here is a frontal portrait re-rendered
as a rigid head turning (tests/adapters/liveness/synth.py) with a simulated screen reflection, at camera timing;
the attacks are what issue 20 describes: the same photo warped flat, separate photos of one person as a collage,
one photo repeated, the capture replayed under another challenge's colours, a screen held up to the camera. These
are synthetic sets: they test the wiring and the decisions, not real-world error rates
(docs/reports/liveness-attacks.md has the counts).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from idverify.factors.face_match import DEFAULT_THRESHOLDS
from idverify.factors.liveness import (
    Challenge,
    LivenessConfig,
    LivenessReason,
    LivenessResult,
    Pose,
    SubmittedFrame,
    evaluate,
)
from idverify.ml.imaging import from_pixels
from idverify.ml.liveness_frames import OnnxLivenessFrames
from tests.adapters.liveness.conftest import FaceModels
from tests.adapters.liveness.synth import Face, Frame, Pixels, capture, encode, fit, jitter, screen_light
from tests.unit.liveness.builders import a_moment_later, challenge_for

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

SAME_PERSON = DEFAULT_THRESHOLDS["sface-2021dec"].liveness_same_person
CONFIG = LivenessConfig(same_person_threshold=SAME_PERSON)
CHALLENGE = challenge_for(Pose.LEFT, Pose.CENTRE)


def pixels_of(faces_dir: Path, name: str, *, flipped: bool = False) -> Pixels:
    pixels = cv2.imread(str(faces_dir / name))
    assert pixels is not None, name
    out = fit(np.asarray(pixels, dtype=np.uint8))
    return np.asarray(cv2.flip(out, 1), dtype=np.uint8) if flipped else out


def face_of(face_models: FaceModels, pixels: Pixels) -> Face:
    found = face_models.detector.detect(from_pixels(pixels))
    return Face.of(max(found, key=lambda f: f.box.area))


def t0(challenge: Challenge) -> int:
    return int(challenge.issued_at.timestamp() * 1000) + 1_000


def stream(face_models: FaceModels, faces_dir: Path, challenge: Challenge, name: str = "img37.jpg", *,
           warp: bool = False, seed: int = 1) -> list[Frame]:
    pixels = pixels_of(faces_dir, name)
    return capture(pixels, face_of(face_models, pixels), light=[(s.channels, s.duration_ms) for s in challenge.light],
                   poses=[p.value for p in challenge.poses], t0_ms=t0(challenge), rng=np.random.default_rng(seed),
                   warp=warp)


def judge(face_models: FaceModels, challenge: Challenge, frames: list[Frame]) -> LivenessResult:
    submitted = [SubmittedFrame(image=encode(f.pixels), captured_at_ms=f.t_ms, nonce=challenge.nonce, sequence=n,
                                light_step=f.light_step) for n, f in enumerate(frames)]
    observer = OnnxLivenessFrames(face_models.detector, face_models.embedder, max_frames=CONFIG.max_frames)
    return evaluate(challenge, observer.observe(submitted), a_moment_later(challenge), config=CONFIG)


def test_a_rigid_head_turn_under_the_screen_colours_passes_at_the_default_thresholds(
        face_models: FaceModels, faces_dir: Path) -> None:
    result = judge(face_models, CHALLENGE, stream(face_models, faces_dir, CHALLENGE))
    assert result.passed, result.reason_codes
    assert result.evidence == ("continuity", "light")
    assert Pose.LEFT in [v.pose for v in result.per_frame]
    assert result.selfie_embedding is not None
    assert result.selfie_embedding.model_id == "sface-2021dec"


def test_the_same_photo_warped_flat_into_a_turn_fails(face_models: FaceModels, faces_dir: Path) -> None:
    result = judge(face_models, CHALLENGE, stream(face_models, faces_dir, CHALLENGE, warp=True))
    assert not result.passed
    assert LivenessReason.GEOMETRY in result.reason_codes or LivenessReason.POSE_SEQUENCE in result.reason_codes


def test_separate_photos_of_one_person_at_camera_timing_are_not_one_capture(
        face_models: FaceModels, faces_dir: Path) -> None:
    """DiCaprio: img37 and img36 frontal, img34 turned; each shown for a few frames, as a collage would."""
    genuine = stream(face_models, faces_dir, CHALLENGE, "img37.jpg")
    light = [f for f in genuine if f.light_step > 0]
    rng = np.random.default_rng(3)
    photos = [pixels_of(faces_dir, "img37.jpg"), pixels_of(faces_dir, "img34.jpg", flipped=True),
              pixels_of(faces_dir, "img36.jpg")]
    tail: list[Frame] = []
    t = light[-1].t_ms
    for photo in photos:
        for _ in range(6):
            t += 70
            tail.append(Frame(jitter(photo, rng), t, 0))
    result = judge(face_models, CHALLENGE, light + tail)
    assert LivenessReason.DISCONTINUOUS in result.reason_codes


def test_one_photo_sent_as_every_frame_is_a_replay(face_models: FaceModels, faces_dir: Path) -> None:
    frames = stream(face_models, faces_dir, CHALLENGE)
    still = [replace(f, pixels=frames[0].pixels) for f in frames]
    result = judge(face_models, CHALLENGE, still)
    assert result.primary_reason == LivenessReason.STATIC_OR_REPLAYED


def test_a_genuine_capture_replayed_under_another_challenge_fails_the_light_check(
        face_models: FaceModels, faces_dir: Path) -> None:
    recorded = stream(face_models, faces_dir, CHALLENGE)
    other = challenge_for(Pose.LEFT, Pose.CENTRE, seed=11)
    assert [s.rgb for s in other.light] != [s.rgb for s in CHALLENGE.light]
    moved = [replace(f, t_ms=f.t_ms - t0(CHALLENGE) + t0(other)) for f in recorded]
    result = judge(face_models, other, moved)
    assert LivenessReason.LIGHT_CHALLENGE in result.reason_codes


def test_a_screen_held_up_to_the_camera_takes_the_colour_everywhere_and_fails_the_light_check(
        face_models: FaceModels, faces_dir: Path) -> None:
    pixels = pixels_of(faces_dir, "img37.jpg")
    face = face_of(face_models, pixels)
    genuine = stream(face_models, faces_dir, CHALLENGE)
    whole = Face(pixels.shape[1] / 2, pixels.shape[0] / 2, pixels.shape[1] * 4.0, pixels.shape[0] * 4.0, face.nose)
    steps = CHALLENGE.light
    # The replayed video itself carries no reflection of this challenge's colours: start from an unlit capture.
    unlit = [replace(f, pixels=jitter(pixels, np.random.default_rng(n))) if f.light_step else f
             for n, f in enumerate(genuine)]
    replayed = [replace(u, pixels=screen_light(u.pixels, whole, steps[u.light_step - 1].channels, gain=0.08,
                                               background_gain=0.08)) if u.light_step else u for u in unlit]
    result = judge(face_models, CHALLENGE, replayed)
    assert LivenessReason.LIGHT_CHALLENGE in result.reason_codes


def test_a_photo_with_two_people_fails(face_models: FaceModels, faces_dir: Path) -> None:
    frames = stream(face_models, faces_dir, CHALLENGE)
    frames[5] = replace(frames[5], pixels=pixels_of(faces_dir, "couple.jpg"))
    assert LivenessReason.MULTIPLE_FACES in judge(face_models, CHALLENGE, frames).reason_codes
