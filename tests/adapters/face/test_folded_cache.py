"""Folded graphs are kept between starts, named by their pinned sha256, and never trusted blindly."""

from __future__ import annotations

from pathlib import Path

from idverify.ml.model_registry import ModelRegistry

MODELS = Path(__file__).resolve().parents[3] / "models"


def test_a_folded_graph_is_kept_reused_and_refolded_when_the_cached_file_was_altered(tmp_path: Path) -> None:
    first = ModelRegistry.load(MODELS, cache_dir=tmp_path)
    spec = first.spec("sface-2021dec")
    folded = first.model_bytes("sface-2021dec")
    kept = tmp_path / f"{spec.folded_sha256}.onnx"
    assert kept.read_bytes() == folded
    assert ModelRegistry.load(MODELS, cache_dir=tmp_path).model_bytes("sface-2021dec") == folded
    kept.write_bytes(b"tampered" + folded[8:])  # someone with write access to the cache
    again = ModelRegistry.load(MODELS, cache_dir=tmp_path).model_bytes("sface-2021dec")
    assert again == folded and kept.read_bytes() == folded


def test_without_a_cache_folder_nothing_is_written(tmp_path: Path) -> None:
    ModelRegistry.load(MODELS).model_bytes("yunet-2023mar")
    assert not any(tmp_path.iterdir())
