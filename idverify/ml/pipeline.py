"""Decode -> detect -> select one face -> quality gates -> align -> embed, with the shipped models by default.

Large photographs are first shrunk (bilinear) so the longer side is at most ``work_side`` (640, YuNet's input);
detection and alignment both run on that working image, the recipe of OpenCV's own YuNet + SFace pipeline,
which measured better than aligning from the full-resolution photograph (docs/reports/face-calibration.md).
Since nothing past the working image is used, :meth:`FacePipeline.decode` lets libjpeg decode a large JPEG at 1/2,
1/4 or 1/8 scale as long as its longer side stays at least ``work_side`` (the faces keep every pixel the working
image had; the size gate still judges stored pixels through :attr:`DecodedImage.scale`). Faces handed back are in
the coordinates of the decoded image's pixels.

The images of one comparison are examined (decoded, searched, aligned, gated) at the same time, one on the calling
thread and the others on the pipeline's pair threads, each with the *pair detector*: the same model on half the
inference threads, so two detections share the cores instead of each taking turns with all of them. Their faces
are then embedded as one batch with all the threads (docs/face.md, docs/reports/single-node-perf.md section 10).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import (
    DetectedFace,
    Embedding,
    FaceBox,
    Landmarks,
    Point,
    QualityReport,
)
from idverify.ml.alignment import align_face
from idverify.ml.detector import OnnxFaceDetector, load_detector
from idverify.ml.embedder import OnnxFaceEmbedder, load_embedder
from idverify.ml.imaging import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    DecodedImage,
    decode_image,
    from_pixels,
)
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig
from idverify.ml.quality import QualityLimits, assess
from idverify.ml.runner import RunnerFactory

DEFAULT_DETECTOR = "yunet-2023mar"
DEFAULT_EMBEDDER = "sface-2021dec"
Selection = Literal["single", "largest"]


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """The chosen face of one image (decoded-image coordinates), its quality and its embedding."""

    face: DetectedFace
    quality: QualityReport
    embedding: Embedding
    faces_found: int


@dataclass(frozen=True, slots=True)
class SelectionPolicy:
    """Which detections count: below ``confident_score`` a detection is ignored when a confident one exists;
    a second confident face whose box side is at least ``ambiguity_ratio`` of the largest makes a selfie
    ambiguous."""

    confident_score: float = 0.85
    ambiguity_ratio: float = 0.7


def _scaled(face: DetectedFace, factor: float) -> DetectedFace:
    b = face.box

    def p(point: Point) -> Point:
        return Point(point.x * factor, point.y * factor)

    lm = face.landmarks
    return replace(
        face,
        box=FaceBox(b.x * factor, b.y * factor, b.w * factor, b.h * factor, b.score),
        landmarks=Landmarks(
            p(lm.eye_image_left), p(lm.eye_image_right), p(lm.nose_tip), p(lm.mouth_image_left), p(lm.mouth_image_right)
        ),
    )


def select_face(faces: Sequence[DetectedFace], mode: Selection, policy: SelectionPolicy) -> DetectedFace:
    """The dominant face. Raises InvalidArgument ``face_not_found``, or ``face_ambiguous`` (mode "single")."""
    if not faces:
        raise InvalidArgument("face_not_found", "no face was found in the image")
    confident = [f for f in faces if f.box.score >= policy.confident_score] or list(faces)
    ranked = sorted(confident, key=lambda f: f.box.area, reverse=True)
    if (
        mode == "single"
        and len(ranked) > 1
        and ranked[1].box.short_side >= policy.ambiguity_ratio * ranked[0].box.short_side
    ):
        raise InvalidArgument("face_ambiguous", "several faces of similar size were found in the image")
    return ranked[0]


@dataclass(frozen=True, slots=True)
class _Examined:
    """One image of a comparison, searched and gated, its face not yet embedded."""

    face: DetectedFace
    factor: float  # working pixels per decoded pixel
    crop: NDArray[np.uint8]
    quality: QualityReport
    faces_found: int


@dataclass(frozen=True, slots=True)
class _Refused:
    """Why one image of a comparison cannot be judged: at ``decode``, or at ``face`` (none, or ambiguous)."""

    stage: Literal["decode", "face"]
    error: InvalidArgument


def pair_session_config(config: SessionConfig) -> SessionConfig | None:
    """The in-process session settings of the pair detector: ``config`` on half its intra-op threads, so a
    comparison's two detections together use what one detection would; None when there is nothing to halve."""
    if config.intra_op_threads < 2:
        return None
    return replace(config, intra_op_threads=config.intra_op_threads // 2)


#: Threads that examine the second image of concurrent comparisons: one per inference-pool worker (two), each
#: comparison using one of them while the calling thread examines its first image.
PAIR_THREADS = 2


class FacePipeline:
    """Detector + embedder + quality gates. Thread-safe: onnxruntime sessions allow concurrent ``run``."""

    def __init__(
        self,
        detector: OnnxFaceDetector,
        embedder: OnnxFaceEmbedder,
        *,
        limits: QualityLimits | None = None,
        policy: SelectionPolicy | None = None,
        work_side: int = 640,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_side: int = DEFAULT_MAX_SIDE,
        pair_detector: OnnxFaceDetector | None = None,
    ) -> None:
        """``pair_detector``: the detector for the images of a comparison, which run two at a time (the same model
        on fewer threads; :meth:`from_models_dir` makes it); None uses ``detector`` for those too."""
        self.detector = detector
        self.pair_detector = pair_detector or detector
        self.embedder = embedder
        self.limits = limits or QualityLimits()
        self.policy = policy or SelectionPolicy()
        self.work_side = work_side
        self._decode_limits = {"max_bytes": max_bytes, "max_pixels": max_pixels, "max_side": max_side}
        self._pair_lock = threading.Lock()
        self._pair_threads: ThreadPoolExecutor | None = None  # made on first use, so never before a fork

    @classmethod
    def from_models_dir(
        cls,
        models_dir: str | Path,
        *,
        threads: int = 2,
        allow_gpu: bool = True,
        detector_id: str = DEFAULT_DETECTOR,
        embedder_id: str = DEFAULT_EMBEDDER,
        limits: QualityLimits | None = None,
        runners: RunnerFactory | None = None,
        pair_runners: RunnerFactory | None = None,
        cache_dir: Path | None = None,
    ) -> FacePipeline:
        """Load and verify the declared models (sha256, folding) and open their runners (in-process onnxruntime
        sessions unless ``runners`` says otherwise, e.g. a KServe V2 model server).

        The pair detector runs on ``pair_runners``; without them, on an in-process session with half of
        ``threads`` when ``runners`` is None and ``threads`` is at least 2, else it is the detector itself (a model
        server takes concurrent requests as they come)."""
        registry = ModelRegistry.load(models_dir, cache_dir=cache_dir)
        config = SessionConfig(intra_op_threads=threads, inter_op_threads=1, allow_gpu=allow_gpu)
        pair_detector, pair_config = None, pair_session_config(config)
        if pair_runners is not None:
            pair_detector = load_detector(registry, detector_id, config, pair_runners)
        elif runners is None and pair_config is not None:
            pair_detector = load_detector(registry, detector_id, pair_config)
        return cls(
            load_detector(registry, detector_id, config, runners),
            load_embedder(registry, embedder_id, config, runners),
            limits=limits,
            pair_detector=pair_detector,
        )

    @property
    def embedder_id(self) -> str:
        return self.embedder.model_id

    def decode(self, data: bytes, *, reduced: bool = True) -> DecodedImage:
        """Safe decode with this pipeline's limits (see :func:`idverify.ml.imaging.decode_image`); ``reduced``: a
        large JPEG may come out smaller, its longer side still at least ``work_side``."""
        limits = self._decode_limits
        return decode_image(data, max_bytes=limits["max_bytes"], max_pixels=limits["max_pixels"],
                            max_side=limits["max_side"], min_long_side=self.work_side if reduced else 0)

    def _pair_pool(self) -> ThreadPoolExecutor:
        with self._pair_lock:
            if self._pair_threads is None:
                self._pair_threads = ThreadPoolExecutor(max_workers=PAIR_THREADS, thread_name_prefix="face-pair")
            return self._pair_threads

    def _examine(self, item: tuple[DecodedImage | bytes, Selection, QualityLimits | None],
                 detector: OnnxFaceDetector) -> _Examined | _Refused:
        """Decode (bytes, reduced), detect, choose one face, align it and gate its quality; a refusal is returned,
        with the stage it came from, not raised."""
        image, select, limits = item
        try:
            decoded = image if isinstance(image, DecodedImage) else self.decode(image)
        except InvalidArgument as refused:
            return _Refused("decode", refused)
        work, factor = self.working_image(decoded)
        faces = detector.detect(work)
        try:
            face = select_face(faces, select, self.policy)
        except InvalidArgument as refused:
            return _Refused("face", refused)
        crop = align_face(work.pixels, face)
        quality = assess(face, crop, work.width, work.height, limits or self.limits, scale=factor * decoded.scale)
        return _Examined(face, factor, crop, quality, len(faces))

    def working_image(self, image: DecodedImage) -> tuple[DecodedImage, float]:
        """The image shrunk so its longer side is at most ``work_side``, and the factor applied (working pixels
        per decoded pixel)."""
        factor = min(1.0, self.work_side / max(image.width, image.height))
        if factor >= 1.0:
            return image, 1.0
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        small = np.asarray(cv2.resize(image.pixels, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
        return from_pixels(small, image.format), factor

    def detect(self, image: DecodedImage) -> list[DetectedFace]:
        """Every face, in decoded-image coordinates, best score first."""
        work, factor = self.working_image(image)
        return [_scaled(f, 1.0 / factor) for f in self.detector.detect(work)]

    def analyse(
        self, image: DecodedImage, *, select: Selection = "single", limits: QualityLimits | None = None
    ) -> FaceAnalysis:
        """Detect, choose one face, gate its quality (``limits`` or the pipeline's) and embed it. Quality
        failures are reported in the result, not raised.

        Raises InvalidArgument ``face_not_found`` / ``face_ambiguous``.
        """
        return self.analyse_many([(image, select, limits)])[0]

    def analyse_many(
        self, items: Sequence[tuple[DecodedImage | bytes, Selection, QualityLimits | None]]
    ) -> list[FaceAnalysis]:
        """:meth:`analyse` for several images, their chosen faces embedded as one batch (one model request for
        the two images of a comparison). Images given as bytes are decoded (reduced, as :meth:`decode`). With
        more than one image, each is examined on its own thread at the same time (the first on this one) with the
        pair detector, and every one is finished before this returns or raises.

        Raises the ``InvalidArgument`` of the first image that cannot be decoded, else of the first image without a
        usable face (``face_not_found`` / ``face_ambiguous``): the same answer as decoding every image first and
        then analysing them in order.
        """
        if len(items) == 1:
            examined = [self._examine(items[0], self.detector)]
        else:
            pool = self._pair_pool()
            # The caller's context goes with the work, so log lines from model code carry the request id.
            later = [pool.submit(contextvars.copy_context().run, self._examine, item, self.pair_detector)
                     for item in items[1:]]
            try:
                first = self._examine(items[0], self.pair_detector)
            finally:
                wait(later)  # never leave model work running past this call, whatever happened here
            examined = [first, *(f.result() for f in later)]
        for stage in ("decode", "face"):
            for outcome in examined:
                if isinstance(outcome, _Refused) and outcome.stage == stage:
                    raise outcome.error
        chosen = [e for e in examined if isinstance(e, _Examined)]
        embeddings = self.embedder.embed_crops([e.crop for e in chosen])
        return [FaceAnalysis(_scaled(e.face, 1.0 / e.factor), e.quality, embedding, e.faces_found)
                for e, embedding in zip(chosen, embeddings, strict=True)]

    def analyse_all(self, image: DecodedImage) -> list[FaceAnalysis]:
        """Every detected face with its quality and embedding, embedded as one batch."""
        work, factor = self.working_image(image)
        faces = self.detector.detect(work)
        crops = [align_face(work.pixels, f) for f in faces]
        embeddings = self.embedder.embed_crops(crops)
        return [
            FaceAnalysis(
                _scaled(f, 1.0 / factor),
                assess(f, c, work.width, work.height, self.limits, scale=factor * image.scale),
                e,
                len(faces),
            )
            for f, c, e in zip(faces, crops, embeddings, strict=True)
        ]
