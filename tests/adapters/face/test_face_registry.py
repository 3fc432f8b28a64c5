"""The model registry: declared models only, pinned by sha256, folded to the pinned fp32 graph."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idverify.domain.errors import FailedPrecondition, NotFound
from idverify.ml.model_registry import ModelRegistry

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"


def _copy_models(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(MODELS_DIR, target)
    return target


def test_committed_manifest_declares_the_detector_and_embedder_and_their_files_verify() -> None:
    registry = ModelRegistry.load(MODELS_DIR)
    assert registry.ids() == ["sface-2021dec", "yunet-2023mar"]
    assert [s.id for s in registry.for_task("face_detector")] == ["yunet-2023mar"]
    digests = registry.verify()
    assert digests["yunet-2023mar"] == registry.spec("yunet-2023mar").folded_sha256


def test_a_file_whose_hash_differs_from_the_manifest_is_refused(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    path = models / "face_detection_yunet_2023mar_int8bq.onnx"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    registry = ModelRegistry.load(models)
    with pytest.raises(FailedPrecondition) as err:
        registry.model_bytes("yunet-2023mar")
    assert err.value.code == "model_hash_mismatch"


def test_an_onnx_file_not_listed_in_the_manifest_is_refused_at_load(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    (models / "stray.onnx").write_bytes(b"not declared")
    with pytest.raises(FailedPrecondition) as err:
        ModelRegistry.load(models)
    assert err.value.code == "model_unlisted"
    assert "stray.onnx" in err.value.message


def test_an_unknown_model_id_is_not_found() -> None:
    with pytest.raises(NotFound) as err:
        ModelRegistry.load(MODELS_DIR).spec("facenet")
    assert err.value.code == "model_unknown"


def test_a_missing_listed_file_is_refused_when_used(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    (models / "face_recognition_sface_2021dec_int8bq.onnx").unlink()
    with pytest.raises(FailedPrecondition) as err:
        ModelRegistry.load(models).model_bytes("sface-2021dec")
    assert err.value.code == "model_file_missing"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('task = "face_embedder"', 'task = "face_guesser"', "unknown task"),
        ('family = "sface"', 'family = "yunet"', "not supported for task"),
        ('colour = "RGB"', 'colour = "RGBA"', "colour"),
    ],
)
def test_a_manifest_entry_with_an_undeclared_kind_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    models = _copy_models(tmp_path)
    manifest = models / "manifest.toml"
    manifest.write_text(manifest.read_text().replace(old, new), encoding="utf-8")
    with pytest.raises(FailedPrecondition) as err:
        ModelRegistry.load(models)
    assert err.value.code == "model_manifest_invalid"
    assert message in err.value.message
