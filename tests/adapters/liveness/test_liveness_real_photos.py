"""Active liveness end to end on real photographs: decode, YuNet, SFace, head pose, evaluate.

The deepface-unit folder holds portraits, not head-turn recordings: its most turned one-face photographs reach an
image yaw of about 0.19 (docs/reports/head-pose-calibration.md), below the production turn threshold (0.25). The
sequences here therefore use a turn threshold of 0.14: they test the glue and the sequence logic on real
detections, not the threshold itself (the last test shows the production threshold refuses these portraits). The
folder has no photograph tilted up or down, so up/down are covered only by the synthetic-geometry unit tests.

Leonardo DiCaprio is img34-img37 (same person in the pairs csv); img34 is turned to his right (image yaw -0.15),
its mirror image therefore looks turned to his left (+0.19). Jack Dorsey (img16, a different person) is turned to
his left.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from idverify.factors.face_match import DEFAULT_THRESHOLDS
from idverify.factors.liveness import (
    Challenge,
    LivenessConfig,
    LivenessReason,
    LivenessResult,
    Pose,
    PoseThresholds,
    SubmittedFrame,
    evaluate,
)
from idverify.ml.liveness_frames import OnnxLivenessFrames
from tests.adapters.liveness.conftest import FaceModels
from tests.unit.liveness.builders import a_moment_later, challenge_for

pytestmark = pytest.mark.shared_data

#: Face core's calibrated same-session threshold for SFace; the same-person pairs used here score 0.77-0.83 and
#: the two different people about 0.12.
SAME_PERSON = DEFAULT_THRESHOLDS["sface-2021dec"].liveness_same_person
PORTRAIT_CONFIG = LivenessConfig(same_person_threshold=SAME_PERSON,
                                 poses=PoseThresholds(turn_yaw=0.14, centre_yaw=0.12))
LEFT_RIGHT = challenge_for(Pose.LEFT, Pose.RIGHT, Pose.CENTRE)
T0 = 1_761_000_000_000


def pixels_of(faces_dir: Path, name: str) -> NDArray[np.uint8]:
    pixels = cv2.imread(str(faces_dir / name))
    assert pixels is not None, name
    return np.asarray(pixels, dtype=np.uint8)


def photo(faces_dir: Path, name: str, *, flipped: bool = False) -> bytes:
    """The file's own bytes, or its horizontal mirror image re-encoded as JPEG (quality 95)."""
    if not flipped:
        return (faces_dir / name).read_bytes()
    mirrored = cv2.flip(pixels_of(faces_dir, name), 1)
    return cv2.imencode(".jpg", mirrored, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def run(face_models: FaceModels, challenge: Challenge, images: list[bytes], *, mirrored: bool = False,
        config: LivenessConfig = PORTRAIT_CONFIG) -> LivenessResult:
    frames = [SubmittedFrame(image=data, captured_at_ms=T0 + 800 * n, nonce=challenge.nonce, mirrored=mirrored)
              for n, data in enumerate(images)]
    observer = OnnxLivenessFrames(face_models.detector, face_models.embedder, max_frames=config.max_frames)
    return evaluate(challenge, observer.observe(frames), a_moment_later(challenge), config=config)


def one_person_left_right(faces_dir: Path) -> list[bytes]:
    return [photo(faces_dir, "img37.jpg"), photo(faces_dir, "img34.jpg", flipped=True),
            photo(faces_dir, "img36.jpg"), photo(faces_dir, "img34.jpg"), photo(faces_dir, "img35.jpg")]


def test_real_photos_of_one_person_in_the_asked_poses_pass_and_the_last_frontal_one_is_the_selfie(
        face_models: FaceModels, faces_dir: Path) -> None:
    result = run(face_models, LEFT_RIGHT, one_person_left_right(faces_dir))
    assert result.passed, result.reason_codes
    assert [v.pose for v in result.per_frame] == [Pose.CENTRE, Pose.LEFT, Pose.CENTRE, Pose.RIGHT, Pose.CENTRE]
    assert result.selfie_index == 4
    assert result.selfie_embedding is not None
    assert result.selfie_embedding.model_id == "sface-2021dec"
    assert result.min_similarity is not None
    assert result.min_similarity >= SAME_PERSON
    assert result.pad_ran is False


def test_mirrored_frames_pass_when_flagged_and_fail_the_order_when_not(
        face_models: FaceModels, faces_dir: Path) -> None:
    mirrored = [photo(faces_dir, "img37.jpg", flipped=True), photo(faces_dir, "img34.jpg"),
                photo(faces_dir, "img36.jpg", flipped=True), photo(faces_dir, "img34.jpg", flipped=True),
                photo(faces_dir, "img35.jpg", flipped=True)]
    assert run(face_models, LEFT_RIGHT, mirrored, mirrored=True).passed
    assert run(face_models, LEFT_RIGHT, mirrored).reason_codes == (LivenessReason.POSE_SEQUENCE,)


def test_a_static_photo_submitted_five_times_fails_as_a_replay(face_models: FaceModels, faces_dir: Path) -> None:
    result = run(face_models, LEFT_RIGHT, [photo(faces_dir, "img35.jpg")] * 5)
    assert result.primary_reason == LivenessReason.STATIC_OR_REPLAYED
    assert set(result.reason_codes) == {LivenessReason.STATIC_OR_REPLAYED, LivenessReason.POSE_SEQUENCE}


def test_a_re_encoded_copy_of_an_earlier_frame_is_caught_as_a_replay(
        face_models: FaceModels, faces_dir: Path) -> None:
    images = one_person_left_right(faces_dir)
    copy = cv2.imencode(".jpg", pixels_of(faces_dir, "img35.jpg"), [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
    images[0] = copy.tobytes()  # same picture as the selfie, different bytes
    result = run(face_models, LEFT_RIGHT, images)
    assert result.reason_codes == (LivenessReason.STATIC_OR_REPLAYED,)
    assert result.per_frame[4].duplicate_of == 0


def test_a_sequence_that_switches_person_fails_on_identity(face_models: FaceModels, faces_dir: Path) -> None:
    images = one_person_left_right(faces_dir)
    images[1] = photo(faces_dir, "img16.jpg")  # another man, turned to his left
    result = run(face_models, LEFT_RIGHT, images)
    assert result.reason_codes == (LivenessReason.IDENTITY_CHANGED,)
    assert result.per_frame[1].pose is Pose.LEFT
    assert result.per_frame[1].similarity is not None
    assert result.per_frame[1].similarity < SAME_PERSON


def test_a_photo_with_two_people_fails(face_models: FaceModels, faces_dir: Path) -> None:
    images = one_person_left_right(faces_dir)
    images[2] = photo(faces_dir, "couple.jpg")
    assert run(face_models, LEFT_RIGHT, images).reason_codes == (LivenessReason.MULTIPLE_FACES,)


def test_the_production_turn_threshold_does_not_accept_these_portraits_as_turns(
        face_models: FaceModels, faces_dir: Path) -> None:
    production = replace(PORTRAIT_CONFIG, poses=PoseThresholds())
    result = run(face_models, LEFT_RIGHT, one_person_left_right(faces_dir), config=production)
    assert result.reason_codes == (LivenessReason.POSE_SEQUENCE,)
    assert Pose.LEFT not in [v.pose for v in result.per_frame]
