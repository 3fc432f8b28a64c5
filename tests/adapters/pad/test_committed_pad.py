"""The MiniFASNet exports committed in models/pad/: pinned, loaded by default, and reproducible from the weights.

CI rebuilds the graphs from the published weights (the ``pad_build_dir`` fixture) and checks that the committed
graphs give the same logits on upstream's sample faces; a graph that drifted from its weights fails here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from idverify.app import committed_pad_dir, load_pad
from idverify.config import Settings
from idverify.ml.detector import OnnxFaceDetector
from idverify.ml.imaging import DecodedImage
from idverify.ml.pad.artefacts import BuildRecord, load_manifest, sha256_file
from idverify.ml.pad.crop import crop_patch, to_input
from tests.adapters.pad.conftest import PAD_MANIFEST, REPO

COMMITTED = REPO / "models" / "pad"


def _declared_graph_digests() -> dict[str, str]:
    raw = tomllib.loads(PAD_MANIFEST.read_text(encoding="utf-8"))
    return {m["file"]: m["sha256"] for m in raw["model"] if m["family"] == "minifasnet"}


def test_committed_graphs_hash_to_the_manifest_and_to_their_build_record() -> None:
    declared = _declared_graph_digests()
    record = BuildRecord.read(COMMITTED)
    manifest = load_manifest(PAD_MANIFEST)
    assert set(declared) == {m.file for m in manifest.family("minifasnet")}
    for spec in manifest.family("minifasnet"):
        digest = sha256_file(COMMITTED / spec.file)
        assert digest == declared[spec.file]
        assert record.models[spec.id].sha256 == digest
        assert record.models[spec.id].weights_sha256 == spec.weights_sha256


def test_the_default_settings_load_the_committed_graphs_without_a_build(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IDVERIFY_MODEL_CACHE", str(tmp_path / "empty-cache"))
    settings = Settings.from_env({})
    assert committed_pad_dir(REPO / "models") == COMMITTED
    pad = load_pad(settings, REPO / "models")
    assert pad is not None
    assert pad.model_ids == ("minifasnet-v2-2.7", "minifasnet-v1se-4.0")


def test_a_models_folder_without_exports_has_no_committed_pad(tmp_path: Path) -> None:
    (tmp_path / "pad").mkdir()
    assert committed_pad_dir(tmp_path) is None


@pytest.mark.shared_data
def test_graphs_rebuilt_from_the_weights_match_the_committed_ones_on_the_sample_faces(
        pad_build_dir: Path, samples: dict[str, DecodedImage], detector: OnnxFaceDetector) -> None:
    faces = {name: detector.detect(image)[0] for name, image in samples.items()}
    for spec in load_manifest(PAD_MANIFEST).family("minifasnet"):
        assert spec.crop_scale
        batch = to_input([crop_patch(samples[n].pixels, (f.box.x, f.box.y, f.box.w, f.box.h), spec.crop_scale, 80)
                          for n, f in faces.items()])
        committed = ort.InferenceSession(str(COMMITTED / spec.file), providers=["CPUExecutionProvider"])
        rebuilt = ort.InferenceSession(str(pad_build_dir / spec.file), providers=["CPUExecutionProvider"])
        want = committed.run(None, {spec.input_name: batch})[0]
        got = rebuilt.run(None, {spec.input_name: batch})[0]
        assert want.shape == (3, 3)
        assert np.max(np.abs(got - want)) <= 1e-4
