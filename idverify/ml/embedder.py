"""Face embedders on onnxruntime: SFace (shipped) and ArcFace-family recognisers (operator-supplied).

Both take faces aligned to the ArcFace 112 x 112 template and differ only in what the manifest declares:
colour order, mean and std (SFace normalises inside its graph and takes raw 0..255 RGB; insightface ArcFace
exports take (x - 127.5) / 127.5 RGB). All faces of one image run as one batch when the model's batch dimension
is dynamic, one by one otherwise. Embeddings are L2-normalised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from idverify.domain.errors import FailedPrecondition
from idverify.domain.face import DetectedFace, Embedding
from idverify.ml.alignment import CROP_SIZE, align_face
from idverify.ml.detector import to_tensor
from idverify.ml.imaging import DecodedImage
from idverify.ml.model_registry import ModelRegistry, ModelSpec
from idverify.ml.onnx_sessions import SessionConfig
from idverify.ml.runner import ModelRunner, OrtRunner, RunnerFactory

F32 = NDArray[np.float32]


class OnnxFaceEmbedder:
    """Aligned crop -> L2-normalised embedding, for the ``sface`` and ``arcface`` families."""

    FAMILIES = frozenset({"sface", "arcface"})

    def __init__(self, spec: ModelSpec, model: bytes, config: SessionConfig, runner: ModelRunner | None = None) -> None:
        if spec.task != "face_embedder" or spec.family not in self.FAMILIES:
            raise FailedPrecondition("model_family_mismatch", f"model {spec.id!r} is not a declared embedder")
        if (spec.input_width, spec.input_height) != (CROP_SIZE, CROP_SIZE):
            raise FailedPrecondition(
                "model_manifest_invalid", f"model {spec.id!r}: embedders take {CROP_SIZE}x{CROP_SIZE} aligned crops"
            )
        self.spec = spec
        self._session: ModelRunner = runner or OrtRunner(model, config)
        self._batched = self._session.batched

    @property
    def model_id(self) -> str:
        return self.spec.id

    def embed(self, image: DecodedImage, faces: Sequence[DetectedFace]) -> list[Embedding]:
        """One embedding per face, in order. Raises nothing for an empty list (returns [])."""
        crops = [align_face(image.pixels, face) for face in faces]
        return self.embed_crops(crops)

    def embed_many(self, pairs: Sequence[tuple[DecodedImage, DetectedFace]]) -> list[Embedding]:
        """One embedding per (image, face) pair, across images, in one batch."""
        return self.embed_crops([align_face(image.pixels, face) for image, face in pairs])

    def embed_crops(self, crops: Sequence[NDArray[np.uint8]]) -> list[Embedding]:
        """Embeddings of already aligned 112 x 112 BGR crops (one batch when the model allows)."""
        if not crops:
            return []
        vectors = self.raw_vectors(np.stack(crops))
        return [Embedding(tuple(float(v) for v in row), self.spec.id) for row in vectors]

    def raw_vectors(self, batch_bgr: NDArray[np.uint8]) -> F32:
        """N x D float32 L2-normalised vectors for N aligned BGR crops."""
        tensor = to_tensor(batch_bgr, self.spec)
        name = self.spec.input_name
        if self._batched:
            out = np.asarray(self._session.run(None, {name: tensor})[0], dtype=np.float32)
        else:
            out = np.concatenate(
                [
                    np.asarray(self._session.run(None, {name: tensor[i : i + 1]})[0], dtype=np.float32)
                    for i in range(tensor.shape[0])
                ]
            )
        out = out.reshape(out.shape[0], -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-12), dtype=np.float32)


def load_embedder(registry: ModelRegistry, model_id: str, config: SessionConfig,
                  runners: RunnerFactory | None = None) -> OnnxFaceEmbedder:
    """The embedder adapter for a declared face_embedder model; ``runners`` as for :func:`load_detector`."""
    spec = registry.spec(model_id)
    if spec.task != "face_embedder":
        raise FailedPrecondition("model_task_mismatch", f"model {model_id!r} is declared as {spec.task}")
    model = registry.model_bytes(model_id)
    return OnnxFaceEmbedder(spec, model, config, runners(spec, model) if runners is not None else None)
