"""The frame adapter on synthetic pictures with stand-in detector and embedder (no models needed)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import DetectedFace, Embedding, FaceBox, Landmarks
from idverify.factors.liveness import SubmittedFrame
from idverify.ml.imaging import DecodedImage
from idverify.ml.liveness_frames import THUMBNAIL_SIDE, OnnxLivenessFrames, counted_faces, frame_thumbnail
from tests.unit.liveness.geometry import face_landmarks


def face(size: float, landmarks: Landmarks | None = None, x: float = 100.0) -> DetectedFace:
    return DetectedFace(FaceBox(x, 100.0, size, size * 1.2, 0.9), landmarks or face_landmarks(), "fake-detector")


class StubDetector:
    model_id = "fake-detector"

    def __init__(self, faces: list[DetectedFace]) -> None:
        self.faces = faces

    def detect(self, image: DecodedImage) -> list[DetectedFace]:
        return list(self.faces)


class StubEmbedder:
    model_id = "fake-embedder"

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, image: DecodedImage, faces: Sequence[DetectedFace]) -> list[Embedding]:
        self.calls += 1
        return [Embedding((1.0, 0.0), self.model_id) for _ in faces]


class StubPad:
    def __init__(self, live: float | None) -> None:
        self.live_value = live

    def score(self, image: DecodedImage, face: DetectedFace) -> StubPad:
        if self.live_value is None:
            raise InvalidArgument("pad_face_too_small", "face too small")
        return self

    @property
    def live(self) -> float:
        assert self.live_value is not None
        return self.live_value


def picture(seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    return cv2.imencode(".png", pixels)[1].tobytes()


def submitted(data: bytes, t_ms: int = 1000, mirrored: bool = False) -> SubmittedFrame:
    return SubmittedFrame(image=data, captured_at_ms=t_ms, nonce="ab" * 16, mirrored=mirrored)


def test_one_face_frames_carry_pose_embedding_landmarks_digest_and_thumbnail() -> None:
    embedder = StubEmbedder()
    observer = OnnxLivenessFrames(StubDetector([face(80, face_landmarks(yaw_deg=35))]), embedder, max_frames=4)
    obs = observer.observe([submitted(picture(), t_ms=1234, mirrored=True)])[0]
    assert obs.face_count == 1
    assert obs.captured_at_ms == 1234
    assert obs.mirrored
    assert obs.nonce == "ab" * 16
    assert obs.pose is not None
    assert obs.pose.yaw > 0.25
    assert obs.embedding is not None
    assert obs.embedding.model_id == "fake-embedder"
    assert obs.landmarks is not None
    assert len(obs.landmarks) == 10
    assert len(obs.digest) == 32
    assert len(obs.thumbnail) == THUMBNAIL_SIDE ** 2
    assert obs.pad_live_score is None


def test_frames_with_no_face_or_two_faces_are_not_embedded() -> None:
    embedder = StubEmbedder()
    none = OnnxLivenessFrames(StubDetector([]), embedder, max_frames=4).observe([submitted(picture())])[0]
    two = OnnxLivenessFrames(StubDetector([face(80), face(70, x=300)]), embedder,
                             max_frames=4).observe([submitted(picture())])[0]
    assert (none.face_count, two.face_count) == (0, 2)
    assert none.embedding is None
    assert two.embedding is None
    assert two.pose is None
    assert embedder.calls == 0


def test_a_small_background_face_does_not_count_but_a_comparable_one_does() -> None:
    big = face(100)
    assert counted_faces([face(30, x=400), big], 0.35) == [big]
    assert len(counted_faces([face(40, x=400), big], 0.35)) == 2


def test_pad_scores_flow_into_the_observation_and_an_unscorable_face_gets_none() -> None:
    detector = StubDetector([face(80)])
    scored = OnnxLivenessFrames(detector, StubEmbedder(), max_frames=2, pad=StubPad(0.87))
    refused = OnnxLivenessFrames(detector, StubEmbedder(), max_frames=2, pad=StubPad(None))
    assert scored.observe([submitted(picture())])[0].pad_live_score == pytest.approx(0.87)
    assert refused.observe([submitted(picture())])[0].pad_live_score is None


def test_too_many_frames_are_refused_before_decoding() -> None:
    observer = OnnxLivenessFrames(StubDetector([]), StubEmbedder(), max_frames=2)
    with pytest.raises(InvalidArgument) as caught:
        observer.observe([submitted(b"not an image")] * 3)
    assert caught.value.code == "liveness_frame_count"


def test_a_frame_that_is_not_an_image_is_refused_with_the_image_code() -> None:
    observer = OnnxLivenessFrames(StubDetector([]), StubEmbedder(), max_frames=2)
    with pytest.raises(InvalidArgument) as caught:
        observer.observe([submitted(b"not an image")])
    assert caught.value.code == "image_unsupported"


def test_the_thumbnail_is_the_area_averaged_grayscale_of_the_whole_frame() -> None:
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[:, 32:] = 255
    thumb = np.frombuffer(frame_thumbnail(DecodedImage(pixels, "raw", 64, 64)), dtype=np.uint8).reshape(32, 32)
    assert (thumb[:, :16] == 0).all()
    assert (thumb[:, 16:] == 255).all()


def test_submitted_frames_do_not_show_their_bytes_or_nonce_in_repr() -> None:
    text = repr(SubmittedFrame(image=b"\xff\xd8secret-pixels", captured_at_ms=5, nonce="cafe" * 8))
    assert "secret" not in text
    assert "cafe" not in text
