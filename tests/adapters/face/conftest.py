"""One loaded model set per test session: inference is CPU heavy, loading is not free."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from idverify.factors.face_match import DEFAULT_THRESHOLDS
from idverify.ml.matcher import FaceMatcher
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig
from idverify.ml.pipeline import FacePipeline
from tests.shared_data import shared_path

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"


@pytest.fixture(scope="session")
def registry() -> ModelRegistry:
    return ModelRegistry.load(MODELS_DIR)


@pytest.fixture(scope="session")
def session_config() -> SessionConfig:
    return SessionConfig(intra_op_threads=2, inter_op_threads=1, allow_gpu=False)


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return shared_path("faces", "deepface-unit")


@pytest.fixture(scope="session")
def pipeline(registry: ModelRegistry, session_config: SessionConfig) -> FacePipeline:
    from idverify.ml.detector import load_detector
    from idverify.ml.embedder import load_embedder

    return FacePipeline(
        load_detector(registry, "yunet-2023mar", session_config),
        load_embedder(registry, "sface-2021dec", session_config),
        # As FacePipeline.from_models_dir makes it: the detector of a comparison's images on half the threads.
        pair_detector=load_detector(registry, "yunet-2023mar", replace(session_config, intra_op_threads=1)),
    )


@pytest.fixture(scope="session")
def matcher(pipeline: FacePipeline) -> FaceMatcher:
    return FaceMatcher(pipeline, DEFAULT_THRESHOLDS["sface-2021dec"])
