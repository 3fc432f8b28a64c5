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
from idverify.ml.liveness_frames import (
    BACKGROUND_SIDE,
    THUMBNAIL_SIDE,
    OnnxLivenessFrames,
    counted_faces,
    embedding_sample,
    frame_thumbnail,
)
from tests.adapters.liveness.hostile import declared_png
from tests.unit.liveness.geometry import face_landmarks


def face(size: float, landmarks: Landmarks | None = None, x: float = 100.0) -> DetectedFace:
    return DetectedFace(FaceBox(x, 100.0, size, size * 1.2, 0.9), landmarks or face_landmarks(), "fake-detector")


class StubDetector:
    model_id = "fake-detector"

    def __init__(self, faces: list[DetectedFace]) -> None:
        self.faces = faces
        self.calls = 0

    def detect(self, image: DecodedImage) -> list[DetectedFace]:
        self.calls += 1
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


def submitted(data: bytes, t_ms: int = 1000, mirrored: bool | None = None, sequence: int = 0,
              light_step: int = 0) -> SubmittedFrame:
    return SubmittedFrame(image=data, captured_at_ms=t_ms, nonce="ab" * 16, mirrored=mirrored, sequence=sequence,
                          light_step=light_step)


def test_one_face_frames_carry_pose_embedding_landmarks_digest_and_thumbnail() -> None:
    embedder = StubEmbedder()
    observer = OnnxLivenessFrames(StubDetector([face(80, face_landmarks(yaw_deg=35))]), embedder, max_frames=4)
    obs = observer.observe([submitted(picture(), t_ms=1234, mirrored=True, sequence=7, light_step=3)])[0]
    assert obs.face_count == 1
    assert obs.captured_at_ms == 1234
    assert obs.mirrored
    assert (obs.sequence, obs.light_step) == (7, 3)
    assert obs.box == (100.0, 100.0, 80.0, 96.0)
    assert len(obs.background) == BACKGROUND_SIDE ** 2
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


def test_a_frame_that_does_not_say_whether_it_is_mirrored_leaves_it_to_the_challenge() -> None:
    observer = OnnxLivenessFrames(StubDetector([face(80)]), StubEmbedder(), max_frames=2)
    assert observer.observe([submitted(picture())])[0].mirrored is None


def test_face_and_background_colours_are_measured_where_the_face_and_the_rest_are() -> None:
    pixels = np.full((480, 640, 3), (200, 100, 50), dtype=np.uint8)  # BGR: a blue-ish background
    landmarks = face_landmarks(centre=(320.0, 200.0))
    pixels[120:330, 230:410] = (60, 120, 220)  # an orange-ish face
    data = cv2.imencode(".png", pixels)[1].tobytes()
    detected = DetectedFace(FaceBox(240.0, 130.0, 160.0, 190.0, 0.9), landmarks, "fake-detector")
    obs = OnnxLivenessFrames(StubDetector([detected]), StubEmbedder(), max_frames=2).observe([submitted(data)])[0]
    assert obs.face_rgb == pytest.approx((220.0, 120.0, 60.0))
    assert obs.background_rgb == pytest.approx((50.0, 100.0, 200.0), abs=1.0)


def test_a_frame_declaring_more_pixels_than_a_liveness_frame_is_refused_before_any_decoding() -> None:
    detector = StubDetector([face(80)])
    observer = OnnxLivenessFrames(detector, StubEmbedder(), max_frames=4)
    hostile = declared_png(8000, 5000)
    assert len(hostile) < 200_000
    with pytest.raises(InvalidArgument) as caught:
        observer.observe([submitted(picture()), submitted(hostile)])
    assert caught.value.code == "image_too_large"
    assert detector.calls == 0  # not even the first, harmless frame was decoded


def test_frames_that_together_exceed_the_stream_budget_are_refused_before_decoding() -> None:
    detector = StubDetector([face(80)])
    observer = OnnxLivenessFrames(detector, StubEmbedder(), max_frames=8, max_frame_pixels=120 * 160,
                                  max_stream_pixels=3 * 120 * 160)
    observer.observe([submitted(picture(n)) for n in range(3)])
    with pytest.raises(InvalidArgument) as caught:
        observer.observe([submitted(picture(n)) for n in range(4)])
    assert caught.value.code == "image_too_large"
    assert detector.calls == 3


def test_only_a_sample_of_the_frames_is_embedded_and_it_includes_the_last_ones() -> None:
    assert embedding_sample(5) == {0, 1, 2, 3, 4}
    sample = embedding_sample(40)
    assert len(sample) <= 11
    assert {37, 38, 39} <= sample
    embedder = StubEmbedder()
    observer = OnnxLivenessFrames(StubDetector([face(80)]), embedder, max_frames=40)
    observations = observer.observe([submitted(picture(n)) for n in range(40)])
    assert [n for n, o in enumerate(observations) if o.embedding is not None] == sorted(sample)
    assert embedder.calls == len(sample)
