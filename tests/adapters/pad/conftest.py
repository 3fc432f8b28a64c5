"""PAD fixtures: the MiniFASNet graphs are built once per test session into a temporary model cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from idverify.ml.detector import OnnxFaceDetector, load_detector
from idverify.ml.imaging import DecodedImage, decode_image
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig
from tests.shared_data import shared_path

REPO = Path(__file__).resolve().parents[3]
PAD_MANIFEST = REPO / "models" / "pad.toml"
SAMPLES = ("image_T1.jpg", "image_F1.jpg", "image_F2.jpg")


def require_torch() -> None:
    """torch is a build-time dependency: CI installs it (scripts/build-pad.sh), so there a missing torch fails."""
    try:
        import torch  # noqa: F401
    except ImportError:
        reason = "torch==2.13.0 is not installed (pip install torch==2.13.0; CI installs it)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason + "; CI must have it")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    return shared_path("pad", "silent-face")


@pytest.fixture(scope="session")
def pad_build_dir(weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_torch()
    from idverify.ml.pad.build import build_pad_models

    out = tmp_path_factory.mktemp("model-cache") / "pad"
    build_pad_models(weights_dir, out, manifest_path=PAD_MANIFEST)
    return out


@pytest.fixture(scope="session")
def cpu_config() -> SessionConfig:
    return SessionConfig(intra_op_threads=2, inter_op_threads=1, allow_gpu=False)


@pytest.fixture(scope="session")
def detector(cpu_config: SessionConfig) -> OnnxFaceDetector:
    return load_detector(ModelRegistry.load(REPO / "models"), "yunet-2023mar", cpu_config)


@pytest.fixture(scope="session")
def samples(weights_dir: Path) -> dict[str, DecodedImage]:
    return {name: decode_image((weights_dir / name).read_bytes()) for name in SAMPLES}
