"""Face values and the ports that produce them. Standard library only.

Coordinates are pixels in the decoded, upright image (EXIF orientation already applied), origin top-left, x to
the right, y down. Landmark names describe where a point lies *in the image*, not whose side of the face it is:
on an upright frontal face ``eye_image_left`` (smaller x) is the subject's right eye.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class FaceBox:
    """Axis-aligned face box; ``score`` is the detector's confidence in [0, 1]."""

    x: float
    y: float
    w: float
    h: float
    score: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def short_side(self) -> float:
        return min(self.w, self.h)


@dataclass(frozen=True, slots=True)
class Landmarks:
    """Five points, named from the image's point of view (see module docstring)."""

    eye_image_left: Point
    eye_image_right: Point
    nose_tip: Point
    mouth_image_left: Point
    mouth_image_right: Point

    def as_tuple(self) -> tuple[Point, Point, Point, Point, Point]:
        """In the order of the ArcFace template: eyes, nose, mouth corners, each image-left first."""
        return (self.eye_image_left, self.eye_image_right, self.nose_tip, self.mouth_image_left, self.mouth_image_right)

    @property
    def inter_ocular(self) -> float:
        return math.hypot(
            self.eye_image_right.x - self.eye_image_left.x, self.eye_image_right.y - self.eye_image_left.y
        )


@dataclass(frozen=True, slots=True)
class DetectedFace:
    box: FaceBox
    landmarks: Landmarks
    detector_id: str


@dataclass(frozen=True, slots=True)
class Embedding:
    """An L2-normalised face template. Biometric data: never log it, store it only encrypted."""

    values: tuple[float, ...]
    model_id: str

    def __repr__(self) -> str:
        return f"Embedding(model_id={self.model_id!r}, dim={len(self.values)})"

    def cosine(self, other: Embedding) -> float:
        """Cosine similarity. Raises ValueError when the two come from different models or dimensions."""
        if other.model_id != self.model_id or len(other.values) != len(self.values):
            raise ValueError("embeddings from different models cannot be compared")
        dot = math.fsum(a * b for a, b in zip(self.values, other.values, strict=True))
        na = math.sqrt(math.fsum(a * a for a in self.values))
        nb = math.sqrt(math.fsum(b * b for b in other.values))
        return 0.0 if na == 0.0 or nb == 0.0 else dot / (na * nb)

    def to_bytes(self) -> bytes:
        """Little-endian float32, for encrypted storage."""
        return struct.pack(f"<{len(self.values)}f", *self.values)

    @classmethod
    def from_bytes(cls, data: bytes, model_id: str) -> Embedding:
        if len(data) % 4 or not data:
            raise ValueError("embedding bytes must be a non-empty multiple of 4")
        return cls(struct.unpack(f"<{len(data) // 4}f", data), model_id)


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Outcome of the quality gates. ``reasons`` are stable codes (``face_too_small``, ``face_blurry``...)
    in the order checked; ``metrics`` are the measured figures behind them (no image content)."""

    reasons: tuple[str, ...]
    metrics: tuple[tuple[str, float], ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons

    def metric(self, name: str) -> float | None:
        return dict(self.metrics).get(name)


@dataclass(frozen=True, slots=True)
class MatchResult:
    """A comparison of two faces: cosine ``score`` against ``threshold`` for the embedder ``model_id``."""

    score: float
    threshold: float
    model_id: str
    matched: bool
    comparison: str = ""


class ImageLike(Protocol):
    """What the domain knows about a decoded image: its upright size. Pixels stay in the adapter."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...


ImageT_contra = TypeVar("ImageT_contra", contravariant=True)


class FaceDetector(Protocol[ImageT_contra]):
    """Finds faces in a decoded image; returns them best score first (possibly none)."""

    @property
    def model_id(self) -> str: ...

    def detect(self, image: ImageT_contra) -> list[DetectedFace]: ...


class FaceEmbedder(Protocol[ImageT_contra]):
    """Turns detected faces of one image into L2-normalised embeddings, one per face, in order (batched)."""

    @property
    def model_id(self) -> str: ...

    def embed(self, image: ImageT_contra, faces: Sequence[DetectedFace]) -> list[Embedding]: ...
