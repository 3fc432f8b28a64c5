"""Adapter glue for active liveness: submitted frames -> :class:`FrameObservation` values for the pure evaluator.

Per frame: safe decode (:func:`idverify.ml.imaging.decode_image`), face detection, and for a frame with exactly one
face, its embedding, head pose and (when a PAD scorer is wired) its passive live score. The frame also gets a
SHA-256 of its bytes and a 32 x 32 grayscale thumbnail of the whole picture, so the evaluator can spot repeated
or near-identical frames without ever holding pixels.

Counting faces: a detection counts when its shorter box side is at least ``secondary_face_ratio`` of the largest
face's (default 0.35), so a distant face in the background does not fail an applicant but a second person close
to the camera does. Only the largest face is embedded and measured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import DetectedFace, Embedding, FaceDetector, FaceEmbedder
from idverify.factors.head_pose import HeadPose, estimate_head_pose
from idverify.factors.liveness import FrameObservation, SubmittedFrame
from idverify.ml.imaging import DEFAULT_MAX_BYTES, DecodedImage, decode_image

THUMBNAIL_SIDE = 32
DEFAULT_SECONDARY_FACE_RATIO = 0.35


class LiveScore(Protocol):
    @property
    def live(self) -> float: ...


class PadScorer(Protocol):
    """Passive PAD for one detected face (satisfied by ``idverify.ml.pad.onnx_pad.OnnxPad``). May raise
    InvalidArgument when the face cannot be scored; the frame then carries no PAD score."""

    def score(self, image: DecodedImage, face: DetectedFace) -> LiveScore: ...


def frame_thumbnail(image: DecodedImage, side: int = THUMBNAIL_SIDE) -> bytes:
    """The whole frame as ``side`` x ``side`` grayscale bytes (area-averaged), for near-duplicate checks."""
    gray = cv2.cvtColor(image.pixels, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small, dtype=np.uint8).tobytes()


def counted_faces(faces: Sequence[DetectedFace], secondary_face_ratio: float) -> list[DetectedFace]:
    """The faces that count, largest first (see the module docstring)."""
    ordered = sorted(faces, key=lambda f: f.box.area, reverse=True)
    if not ordered:
        return []
    floor = secondary_face_ratio * ordered[0].box.short_side
    return [f for f in ordered if f.box.short_side >= floor]


def build_observation(frame: SubmittedFrame, image: DecodedImage, faces: Sequence[DetectedFace], *,
                      embedding: Embedding | None, pad_live_score: float | None = None) -> FrameObservation:
    """Assemble one observation; ``faces`` are the counted faces, largest first (the one embedded, if any)."""
    pose: HeadPose | None = None
    landmarks: tuple[float, ...] | None = None
    if len(faces) == 1:
        points = faces[0].landmarks
        landmarks = tuple(c for p in points.as_tuple() for c in (p.x, p.y))
        try:
            pose = estimate_head_pose(points)
        except InvalidArgument:  # degenerate landmarks: the frame shows no measurable pose
            pose = None
    return FrameObservation(
        captured_at_ms=frame.captured_at_ms,
        nonce=frame.nonce,
        face_count=len(faces),
        mirrored=frame.mirrored,
        pose=pose,
        embedding=embedding if len(faces) == 1 else None,
        landmarks=landmarks,
        digest=hashlib.sha256(frame.image).digest(),
        thumbnail=frame_thumbnail(image),
        pad_live_score=pad_live_score if len(faces) == 1 else None,
    )


class OnnxLivenessFrames:
    """The :class:`idverify.factors.liveness.FrameObserver` over the ONNX face models (and optional PAD)."""

    def __init__(self, detector: FaceDetector[DecodedImage], embedder: FaceEmbedder[DecodedImage], *,
                 max_frames: int, pad: PadScorer | None = None, max_image_bytes: int = DEFAULT_MAX_BYTES,
                 secondary_face_ratio: float = DEFAULT_SECONDARY_FACE_RATIO) -> None:
        if max_frames < 1 or not 0.0 < secondary_face_ratio <= 1.0:
            raise ValueError("max_frames must be positive and secondary_face_ratio in (0, 1]")
        self._detector = detector
        self._embedder = embedder
        self._pad = pad
        self._max_frames = max_frames
        self._max_image_bytes = max_image_bytes
        self._secondary_face_ratio = secondary_face_ratio

    def observe(self, frames: Sequence[SubmittedFrame]) -> list[FrameObservation]:
        """Observations in submission order.

        Raises InvalidArgument ``liveness_frame_count`` when more than ``max_frames`` frames are sent (refused
        before any decoding), and the image codes of :func:`decode_image` for an unreadable frame.
        """
        if len(frames) > self._max_frames:
            raise InvalidArgument("liveness_frame_count", f"at most {self._max_frames} frames are accepted")
        images = [decode_image(frame.image, max_bytes=self._max_image_bytes) for frame in frames]
        faces = [counted_faces(self._detector.detect(image), self._secondary_face_ratio) for image in images]
        singles = [i for i, found in enumerate(faces) if len(found) == 1]
        # One embedding batch for every one-face frame of the challenge (the model takes a dynamic batch).
        embedded = dict(zip(singles, self._embed_all([(images[i], faces[i][0]) for i in singles]), strict=True))
        observations = []
        for i, frame in enumerate(frames):
            embedding = embedded.get(i)
            score = self._pad_score(images[i], faces[i][0]) if embedding is not None else None
            observations.append(build_observation(frame, images[i], faces[i], embedding=embedding,
                                                  pad_live_score=score))
        return observations

    def _embed_all(self, pairs: Sequence[tuple[DecodedImage, DetectedFace]]) -> list[Embedding]:
        many = getattr(self._embedder, "embed_many", None)
        if many is not None:
            return list(many(pairs))
        return [self._embedder.embed(image, [face])[0] for image, face in pairs]

    def observe_one(self, frame: SubmittedFrame) -> FrameObservation:
        image = decode_image(frame.image, max_bytes=self._max_image_bytes)
        faces = counted_faces(self._detector.detect(image), self._secondary_face_ratio)
        if len(faces) != 1:
            return build_observation(frame, image, faces, embedding=None)
        embedding = self._embedder.embed(image, faces)[0]
        return build_observation(frame, image, faces, embedding=embedding,
                                 pad_live_score=self._pad_score(image, faces[0]))

    def _pad_score(self, image: DecodedImage, face: DetectedFace) -> float | None:
        if self._pad is None:
            return None
        try:
            return float(self._pad.score(image, face).live)
        except InvalidArgument:  # face too small or box unusable for PAD: no evidence rather than a guess
            return None
