"""Passive liveness (presentation-attack detection) through onnxruntime. No torch here.

``OnnxPad`` runs every model declared in the PAD manifest on a detected face and fuses their live
probabilities by their mean. The MiniFASNet pair reproduces upstream's decision input exactly: the face box
scaled 2.7x and 4.0x (see :mod:`idverify.ml.pad.crop`), 80x80 BGR float32 without normalisation, softmax per
model, softmax outputs summed and the real class divided by 2. An operator model with the insightface-style
contract (5-point aligned 80x80 RGB / 255 in, one live probability out) joins the mean when declared.

Load-time refusals are ``FailedPrecondition`` (``model_file_missing``, ``model_hash_mismatch``,
``model_manifest_invalid``): the ONNX graph must hash to what ``pad-build.json`` recorded, and the record must
name the weights the manifest pins. Per-face refusals are ``InvalidArgument`` quality failures
(``pad_face_too_small``, ``pad_face_box_invalid``, and ``pad_alignment_failed`` for an operator
model): no PAD verdict is given for such a face.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.domain.face import DetectedFace
from idverify.ml.imaging import DecodedImage
from idverify.ml.onnx_sessions import SessionConfig, create_session
from idverify.ml.pad.artefacts import (
    BUILD_HINT,
    BuildRecord,
    PadManifest,
    PadModelSpec,
    load_manifest,
)
from idverify.ml.pad.crop import MIN_FACE_PX, check_face_box, crop_patch, to_input
from idverify.ml.pad.score import PadScore

F32 = NDArray[np.float32]

# The ArcFace 112x112 five-point template (eyes, nose tip, mouth corners; image-left first), scaled to the
# operator model's input size for the ``arcface5`` alignment.
_ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)


def _hash_mismatch(message: str) -> FailedPrecondition:
    return FailedPrecondition("model_hash_mismatch", message)


def _read(path: Path, model_id: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FailedPrecondition("model_file_missing",
                                 f"PAD model {model_id!r}: {path.name} is missing; {BUILD_HINT}") from None


def _verified_bytes(spec: PadModelSpec, manifest: PadManifest, build_dir: Path,
                    record: BuildRecord | None) -> bytes:
    if spec.family == "live_probability":
        data = _read(manifest.path.parent / spec.file, spec.id)
        if hashlib.sha256(data).hexdigest() != spec.sha256:
            raise _hash_mismatch(f"PAD model {spec.id!r}: {spec.file} differs from the sha256 in the manifest")
        return data
    assert record is not None  # read whenever a minifasnet entry exists
    built = record.models.get(spec.id)
    if built is None or built.file != spec.file:
        raise FailedPrecondition("model_file_missing", f"PAD model {spec.id!r} is not in the build record; "
                                 f"{BUILD_HINT}")
    if built.weights_sha256 != spec.weights_sha256:
        raise _hash_mismatch(f"PAD model {spec.id!r} was built from weights {built.weights_sha256[:12]}..., "
                             f"the manifest pins {str(spec.weights_sha256)[:12]}...; {BUILD_HINT}")
    data = _read(build_dir / spec.file, spec.id)
    if hashlib.sha256(data).hexdigest() != built.sha256:
        raise _hash_mismatch(f"PAD model {spec.id!r}: {spec.file} differs from the sha256 in the build record")
    return data


@dataclass(frozen=True, slots=True)
class _Loaded:
    spec: PadModelSpec
    session: ort.InferenceSession


def _softmax(logits: F32) -> F32:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    out: F32 = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


class OnnxPad:
    """The declared PAD models, verified and loaded. Thread-safe: onnxruntime sessions allow concurrent runs."""

    def __init__(self, manifest_path: Path, build_dir: Path, *, session_config: SessionConfig | None = None,
                 min_face_px: int = MIN_FACE_PX) -> None:
        """Load and verify every model of ``manifest_path``; MiniFASNet graphs come from ``build_dir``.

        Raises FailedPrecondition (model_manifest_invalid, model_file_missing, model_hash_mismatch).
        """
        self.manifest = load_manifest(manifest_path)
        config = session_config or SessionConfig()
        record = BuildRecord.read(build_dir) if self.manifest.family("minifasnet") else None
        self._models = tuple(
            _Loaded(spec, create_session(_verified_bytes(spec, self.manifest, build_dir, record), config))
            for spec in self.manifest.models)
        for loaded in self._models:
            names = [i.name for i in loaded.session.get_inputs()]
            if names != [loaded.spec.input_name]:
                raise FailedPrecondition("model_manifest_invalid", f"PAD model {loaded.spec.id!r}: graph inputs "
                                         f"{names} differ from the declared {loaded.spec.input_name!r}")
        self.min_face_px = min_face_px

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(m.spec.id for m in self._models)

    @property
    def live_threshold(self) -> float:
        """The manifest's recommended threshold on :attr:`PadScore.live` (policy may choose another)."""
        return self.manifest.live_threshold

    def score(self, image: DecodedImage, face: DetectedFace) -> PadScore:
        """PAD evidence for one face. Raises InvalidArgument pad_face_too_small / pad_face_box_invalid."""
        return self.score_faces(image, [face])[0]

    def score_faces(self, image: DecodedImage, faces: Sequence[DetectedFace]) -> list[PadScore]:
        """PAD evidence for each face of one image, in order, every model run once on the whole batch.

        Raises InvalidArgument (pad_face_too_small, pad_face_box_invalid) if any face cannot be scored.
        """
        if not faces:
            return []
        pixels = image.pixels
        height, width = pixels.shape[:2]
        boxes = [(f.box.x, f.box.y, f.box.w, f.box.h) for f in faces]
        for box in boxes:
            check_face_box(width, height, box, self.min_face_px)
        per_model = np.stack([self._run(m, pixels, boxes, faces) for m in self._models], axis=1)
        ids = self.model_ids
        return [PadScore(float(np.clip(row.mean(), 0.0, 1.0)), ids, tuple(float(p) for p in row))
                for row in per_model]

    def _run(self, model: _Loaded, pixels: NDArray[np.uint8], boxes: list[tuple[float, float, float, float]],
             faces: Sequence[DetectedFace]) -> F32:
        spec = model.spec
        if spec.family == "minifasnet":
            assert spec.crop_scale is not None
            batch = to_input([crop_patch(pixels, b, spec.crop_scale, spec.input_size) for b in boxes])
            logits = np.asarray(model.session.run(None, {spec.input_name: batch})[0], dtype=np.float32)
            live: F32 = _softmax(logits)[:, spec.live_index]
            return live
        batch = _aligned_rgb_input(pixels, faces, spec.input_size)
        out = np.asarray(model.session.run(None, {spec.input_name: batch})[0], dtype=np.float32)
        result: F32 = np.clip(out.reshape(len(faces)), 0.0, 1.0)
        return result


def _aligned_rgb_input(pixels: NDArray[np.uint8], faces: Sequence[DetectedFace], size: int) -> F32:
    """5-point similarity warp to the scaled ArcFace template, RGB, divided by 255, NCHW."""
    template = _ARCFACE_112 * (size / 112.0)
    crops = []
    for face in faces:
        src = np.array([(p.x, p.y) for p in face.landmarks.as_tuple()], dtype=np.float32)
        matrix, _ = cv2.estimateAffinePartial2D(src, template, method=cv2.LMEDS)
        if matrix is None:
            raise InvalidArgument("pad_alignment_failed", "the face landmarks do not define an alignment")
        warped = cv2.warpAffine(pixels, matrix, (size, size), borderValue=(0, 0, 0))
        crops.append(cv2.cvtColor(warped, cv2.COLOR_BGR2RGB))
    batch = np.stack(crops).astype(np.float32) / 255.0
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
