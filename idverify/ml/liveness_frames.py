"""Adapter glue for active liveness: submitted frames -> :class:`FrameObservation` values for the pure evaluator.

Per frame: the header is read first, and the whole stream is refused (``image_too_large``) when a frame declares
more than a liveness frame's pixel limit or the frames together more than the stream's budget, before any frame
is decoded. Then, one frame at a time (pixels are dropped as soon as the frame is measured): safe decode, face
detection, the largest face's box and landmarks, head pose, the mean colour of the face skin and of the
background (the light challenge's signal), a 16 x 16 grey thumbnail of the background with the face blanked
(continuity), a SHA-256 of the bytes and a 32 x 32 grey thumbnail of the whole picture (replay checks). Only a
sample of the frames is embedded (and PAD-scored): evenly spaced ones plus the last few, which hold the selfie.

Counting faces: a detection counts when its shorter box side is at least ``secondary_face_ratio`` of the largest
face's (default 0.35), so a distant face in the background does not fail an applicant but a second person close
to the camera does. Only the largest face is embedded and measured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import cv2
import numpy as np

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import DetectedFace, Embedding, FaceDetector, FaceEmbedder
from idverify.factors.head_pose import HeadPose, estimate_head_pose
from idverify.factors.liveness import FrameObservation, SubmittedFrame
from idverify.ml.imaging import (
    DEFAULT_MAX_BYTES,
    PIXEL_LIMITS,
    DecodedImage,
    ImageKind,
    decode_image,
    probe_image,
)

THUMBNAIL_SIDE = 32
BACKGROUND_SIDE = 16
DEFAULT_SECONDARY_FACE_RATIO = 0.35
DEFAULT_EMBEDDED_FRAMES = 8  # evenly spaced, plus the last LAST_EMBEDDED
LAST_EMBEDDED = 3
#: Declared pixels a whole stream may hold: 128 frames (LivenessConfig's cap) of 640 x 480, rounded up.
DEFAULT_STREAM_PIXELS = 40_000_000


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


def _clip_box(image: DecodedImage, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    return (max(0, int(x0)), max(0, int(y0)), min(image.width, int(x1) + 1), min(image.height, int(y1) + 1))


def skin_region(face: DetectedFace) -> tuple[float, float, float, float]:
    """Cheeks and nose: from a quarter of the way from the eyes to the mouth down to the mouth line, across the
    eyes widened by a fifth of the inter-ocular distance (x0, y0, x1, y1)."""
    lm = face.landmarks
    eye_y = (lm.eye_image_left.y + lm.eye_image_right.y) / 2
    mouth_y = (lm.mouth_image_left.y + lm.mouth_image_right.y) / 2
    margin = 0.2 * lm.inter_ocular
    return (min(lm.eye_image_left.x, lm.eye_image_right.x) - margin, eye_y + 0.25 * (mouth_y - eye_y),
            max(lm.eye_image_left.x, lm.eye_image_right.x) + margin, mouth_y)


def light_signal(image: DecodedImage, face: DetectedFace
                 ) -> tuple[tuple[float, float, float] | None, tuple[float, float, float] | None, bytes]:
    """(face skin mean RGB, background mean RGB, background grey thumbnail with the face blanked)."""
    pixels = image.pixels
    x0, y0, x1, y1 = _clip_box(image, *skin_region(face))
    face_rgb = None
    if x1 - x0 >= 2 and y1 - y0 >= 2:
        b, g, r = pixels[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
        face_rgb = (float(r), float(g), float(b))
    box = face.box
    hx0, hy0, hx1, hy1 = _clip_box(image, box.x - 0.3 * box.w, box.y - 0.3 * box.h, box.x + 1.3 * box.w,
                                   box.y + 1.3 * box.h)
    mask = np.ones(pixels.shape[:2], dtype=bool)
    mask[hy0:hy1, hx0:hx1] = False
    background_rgb = None
    if mask.sum() >= 64:
        b, g, r = pixels[mask].mean(axis=0)
        background_rgb = (float(r), float(g), float(b))
    gray = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    gray[~mask] = 0
    small = cv2.resize(gray, (BACKGROUND_SIDE, BACKGROUND_SIDE), interpolation=cv2.INTER_AREA)
    return face_rgb, background_rgb, np.ascontiguousarray(small, dtype=np.uint8).tobytes()


def build_observation(frame: SubmittedFrame, image: DecodedImage, faces: Sequence[DetectedFace], *,
                      embedding: Embedding | None, pad_live_score: float | None = None) -> FrameObservation:
    """Assemble one observation; ``faces`` are the counted faces, largest first (the one embedded, if any)."""
    pose: HeadPose | None = None
    landmarks: tuple[float, ...] | None = None
    box: tuple[float, float, float, float] | None = None
    face_rgb = background_rgb = None
    background = b""
    if len(faces) == 1:
        face = faces[0]
        points = face.landmarks
        landmarks = tuple(c for p in points.as_tuple() for c in (p.x, p.y))
        box = (face.box.x, face.box.y, face.box.w, face.box.h)
        face_rgb, background_rgb, background = light_signal(image, face)
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
        sequence=frame.sequence,
        light_step=frame.light_step,
        box=box,
        background=background,
        face_rgb=face_rgb,
        background_rgb=background_rgb,
    )


def embedding_sample(count: int, spaced: int = DEFAULT_EMBEDDED_FRAMES, last: int = LAST_EMBEDDED) -> set[int]:
    """Indices of the frames to embed: ``spaced`` evenly spaced ones and the ``last`` ones."""
    if count <= spaced + last:
        return set(range(count))
    step = count / spaced
    return {int(k * step) for k in range(spaced)} | set(range(count - last, count))


class OnnxLivenessFrames:
    """The :class:`idverify.factors.liveness.FrameObserver` over the ONNX face models (and optional PAD)."""

    def __init__(self, detector: FaceDetector[DecodedImage], embedder: FaceEmbedder[DecodedImage], *,
                 max_frames: int, pad: PadScorer | None = None, max_image_bytes: int = DEFAULT_MAX_BYTES,
                 secondary_face_ratio: float = DEFAULT_SECONDARY_FACE_RATIO,
                 max_frame_pixels: int = PIXEL_LIMITS[ImageKind.LIVENESS_FRAME],
                 max_stream_pixels: int = DEFAULT_STREAM_PIXELS, embedded_frames: int = DEFAULT_EMBEDDED_FRAMES
                 ) -> None:
        if max_frames < 1 or not 0.0 < secondary_face_ratio <= 1.0:
            raise ValueError("max_frames must be positive and secondary_face_ratio in (0, 1]")
        if not 0 < max_frame_pixels <= max_stream_pixels or embedded_frames < 1:
            raise ValueError("pixel limits must be positive, the frame's within the stream's; embed >= 1 frame")
        self._detector = detector
        self._embedder = embedder
        self._pad = pad
        self._max_frames = max_frames
        self._max_image_bytes = max_image_bytes
        self._secondary_face_ratio = secondary_face_ratio
        self._max_frame_pixels = max_frame_pixels
        self._max_stream_pixels = max_stream_pixels
        self._embedded_frames = embedded_frames

    @property
    def max_frame_pixels(self) -> int:
        return self._max_frame_pixels

    def observe(self, frames: Sequence[SubmittedFrame]) -> list[FrameObservation]:
        """Observations in submission order.

        Raises InvalidArgument ``liveness_frame_count`` when more than ``max_frames`` frames are sent, and
        ``image_too_large`` when a frame's header declares more than a liveness frame's pixel limit or the frames
        together more than the stream's budget (both refused before any decoding), and the image codes of
        :func:`decode_image` for an unreadable frame.
        """
        if len(frames) > self._max_frames:
            raise InvalidArgument("liveness_frame_count", f"at most {self._max_frames} frames are accepted")
        declared = 0
        for frame in frames:
            declared += probe_image(frame.image, max_bytes=self._max_image_bytes,
                                    max_pixels=self._max_frame_pixels).pixels
        if declared > self._max_stream_pixels:
            raise InvalidArgument("image_too_large", f"the frames declare {declared} pixels in all; the limit is "
                                                     f"{self._max_stream_pixels}")
        sample = embedding_sample(len(frames), self._embedded_frames)
        kept: dict[int, tuple[DecodedImage, DetectedFace]] = {}
        partial: list[FrameObservation] = []
        for i, frame in enumerate(frames):
            image = decode_image(frame.image, max_bytes=self._max_image_bytes, max_pixels=self._max_frame_pixels)
            faces = counted_faces(self._detector.detect(image), self._secondary_face_ratio)
            if i in sample and len(faces) == 1:
                kept[i] = (image, faces[0])  # only sampled frames keep their pixels, for the embedding batch
            partial.append(build_observation(frame, image, faces, embedding=None))
        order = sorted(kept)
        embeddings = dict(zip(order, self._embed_all([kept[i] for i in order]), strict=True))
        out: list[FrameObservation] = []
        for i, observation in enumerate(partial):
            embedding = embeddings.get(i)
            if embedding is None:
                out.append(observation)
                continue
            score = self._pad_score(*kept[i])
            out.append(replace(observation, embedding=embedding, pad_live_score=score))
        return out

    def _embed_all(self, pairs: Sequence[tuple[DecodedImage, DetectedFace]]) -> list[Embedding]:
        if not pairs:
            return []
        many = getattr(self._embedder, "embed_many", None)
        if many is not None:
            return list(many(pairs))
        return [self._embedder.embed(image, [face])[0] for image, face in pairs]

    def _pad_score(self, image: DecodedImage, face: DetectedFace) -> float | None:
        if self._pad is None:
            return None
        try:
            return float(self._pad.score(image, face).live)
        except InvalidArgument:  # face too small or box unusable for PAD: no evidence rather than a guess
            return None
