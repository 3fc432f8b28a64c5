"""Decode -> detect -> select one face -> quality gates -> align -> embed, with the shipped models by default.

Large photographs are first shrunk (bilinear) so the longer side is at most ``work_side`` (640, YuNet's input);
detection and alignment both run on that working image, the recipe of OpenCV's own YuNet + SFace pipeline,
which measured better than aligning from the full-resolution photograph (docs/reports/face-calibration.md).
Since nothing past the working image is used, :meth:`FacePipeline.decode` lets libjpeg decode a large JPEG at 1/2,
1/4 or 1/8 scale as long as its longer side stays at least ``work_side`` (the faces keep every pixel the working
image had; the size gate still judges stored pixels through :attr:`DecodedImage.scale`). Faces handed back are in
the coordinates of the decoded image's pixels. The images of one comparison are decoded at once on the shared
decode threads, and the first one ready is detected while the other still decodes (docs/face.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, as_completed
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
    decode_in_background,
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


def _settled(image: DecodedImage) -> Future[DecodedImage]:
    done: Future[DecodedImage] = Future()
    done.set_result(image)
    return done


def _in_completion_order(pending: Sequence[Future[DecodedImage]]) -> Iterator[tuple[int, Future[DecodedImage]]]:
    """(index, future) as each decode finishes, those already finished first."""
    index = {id(f): n for n, f in enumerate(pending)}
    for future in as_completed(pending):
        yield index[id(future)], future


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
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.limits = limits or QualityLimits()
        self.policy = policy or SelectionPolicy()
        self.work_side = work_side
        self._decode_limits = {"max_bytes": max_bytes, "max_pixels": max_pixels, "max_side": max_side}

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
        cache_dir: Path | None = None,
    ) -> FacePipeline:
        """Load and verify the declared models (sha256, folding) and open their runners (in-process onnxruntime
        sessions unless ``runners`` says otherwise, e.g. a KServe V2 model server)."""
        registry = ModelRegistry.load(models_dir, cache_dir=cache_dir)
        config = SessionConfig(intra_op_threads=threads, inter_op_threads=1, allow_gpu=allow_gpu)
        return cls(
            load_detector(registry, detector_id, config, runners),
            load_embedder(registry, embedder_id, config, runners),
            limits=limits,
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

    def _decode_all(self, images: Sequence[DecodedImage | bytes]) -> list[Future[DecodedImage]]:
        """One future per image: images already decoded as they are, bytes decoded reduced. The smallest encoded
        image (in bytes, which entropy decoding is proportional to) is decoded on this thread, the others meanwhile
        on the shared decode threads: nothing can be searched before one image is ready, and waiting for a decode
        thread to deliver it cost about 0.7 ms of a 640 px comparison (1.5 ms against 0.8 ms for the decode itself,
        docs/reports/single-node-perf.md, section 7). Taking the smallest keeps what the completion order gave
        before: a phone photograph as stored still decodes while the small image is searched."""
        limits = self._decode_limits
        encoded = [(len(image), n, image) for n, image in enumerate(images) if isinstance(image, bytes)]
        _, here, data = min(encoded) if encoded else (0, -1, b"")
        out: list[Future[DecodedImage]] = []
        for n, image in enumerate(images):
            if isinstance(image, DecodedImage):
                out.append(_settled(image))
            elif n == here:
                out.append(Future())  # settled below, once the others are on their way
            else:
                out.append(decode_in_background(image, max_bytes=limits["max_bytes"], max_pixels=limits["max_pixels"],
                                                max_side=limits["max_side"], min_long_side=self.work_side))
        if encoded:
            try:
                out[here].set_result(self.decode(data))
            except InvalidArgument as refused:
                out[here].set_exception(refused)
        return out

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
        the two images of a comparison). Images given as bytes are decoded (reduced, as :meth:`decode`) all at
        once, and each is detected as soon as it is decoded.

        Raises the ``InvalidArgument`` of the first image that cannot be decoded, else of the first image without a
        usable face (``face_not_found`` / ``face_ambiguous``): the same answer as decoding every image first and
        then analysing them in order.
        """
        pending = self._decode_all([image for image, _, _ in items])
        chosen: dict[int, tuple[DetectedFace, float, NDArray[np.uint8], QualityReport, int]] = {}
        undecodable: dict[int, InvalidArgument] = {}
        faceless: dict[int, InvalidArgument] = {}
        for n, decoded in _in_completion_order(pending):
            try:
                image = decoded.result()
            except InvalidArgument as refused:
                undecodable[n] = refused
                continue
            if undecodable or (faceless and n > min(faceless)):  # the answer is known: no model runs for nothing
                continue
            work, factor = self.working_image(image)
            faces = self.detector.detect(work)
            try:
                face = select_face(faces, items[n][1], self.policy)
            except InvalidArgument as refused:
                faceless[n] = refused
                continue
            crop = align_face(work.pixels, face)
            quality = assess(face, crop, work.width, work.height, items[n][2] or self.limits,
                             scale=factor * image.scale)
            chosen[n] = (face, factor, crop, quality, len(faces))
        for refusals in (undecodable, faceless):
            if refusals:
                raise refusals[min(refusals)]
        ordered = [chosen[n] for n in range(len(items))]
        embeddings = self.embedder.embed_crops([c[2] for c in ordered])
        return [FaceAnalysis(_scaled(face, 1.0 / factor), quality, embedding, count)
                for (face, factor, _crop, quality, count), embedding in zip(ordered, embeddings, strict=True)]

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
