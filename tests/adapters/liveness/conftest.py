"""One loaded detector and embedder per test session (loading and folding the models is not free)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from idverify.domain.face import FaceDetector, FaceEmbedder
from idverify.ml.imaging import DecodedImage
from tests.shared_data import shared_path

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"


@dataclass(frozen=True)
class FaceModels:
    detector: FaceDetector[DecodedImage]
    embedder: FaceEmbedder[DecodedImage]


@pytest.fixture(scope="session")
def face_models() -> FaceModels:
    """The shipped YuNet and SFace models on CPU with two threads (imported here: only real-photo tests load them)."""
    from idverify.ml.detector import load_detector
    from idverify.ml.embedder import load_embedder
    from idverify.ml.model_registry import ModelRegistry
    from idverify.ml.onnx_sessions import SessionConfig

    registry = ModelRegistry.load(MODELS_DIR)
    config = SessionConfig(intra_op_threads=2, inter_op_threads=1, allow_gpu=False)
    return FaceModels(load_detector(registry, "yunet-2023mar", config),
                      load_embedder(registry, "sface-2021dec", config))


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return shared_path("faces", "deepface-unit")
