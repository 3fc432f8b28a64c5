"""The onnxruntime PAD adapter against the graphs built from the published weights and upstream's samples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.domain.face import DetectedFace, FaceBox
from idverify.ml.detector import OnnxFaceDetector
from idverify.ml.imaging import DecodedImage
from idverify.ml.onnx_sessions import SessionConfig
from idverify.ml.pad.artefacts import sha256_file
from idverify.ml.pad.onnx_pad import OnnxPad
from tests.adapters.pad.conftest import PAD_MANIFEST, require_torch

pytestmark = pytest.mark.shared_data

# Fused real-class probability of the published networks on YuNet boxes (ANCHORS.md): 1.000, 0.229, 0.003.
REFERENCE = {"image_T1.jpg": 1.000, "image_F1.jpg": 0.229, "image_F2.jpg": 0.003}


@pytest.fixture(scope="module")
def pad(pad_build_dir: Path, cpu_config: SessionConfig) -> OnnxPad:
    return OnnxPad(PAD_MANIFEST, pad_build_dir, session_config=cpu_config)


@pytest.fixture(scope="module")
def sample_faces(samples: dict[str, DecodedImage], detector: OnnxFaceDetector) -> dict[str, DetectedFace]:
    faces = {name: detector.detect(image) for name, image in samples.items()}
    assert all(len(f) == 1 for f in faces.values())
    return {name: f[0] for name, f in faces.items()}


def test_bona_fide_sample_scores_above_threshold_and_attacks_below_with_margin(
        pad: OnnxPad, samples: dict[str, DecodedImage], sample_faces: dict[str, DetectedFace]) -> None:
    scores = {name: pad.score(samples[name], face).live for name, face in sample_faces.items()}
    threshold = pad.live_threshold
    assert scores["image_T1.jpg"] >= threshold + 0.45
    assert scores["image_F1.jpg"] <= threshold - 0.2
    assert scores["image_F2.jpg"] <= threshold - 0.45
    for name, reference in REFERENCE.items():
        assert scores[name] == pytest.approx(reference, abs=0.01)


def test_score_reports_each_model_and_fuses_them_by_the_mean(
        pad: OnnxPad, samples: dict[str, DecodedImage], sample_faces: dict[str, DetectedFace]) -> None:
    score = pad.score(samples["image_F1.jpg"], sample_faces["image_F1.jpg"])
    assert score.model_ids == ("minifasnet-v2-2.7", "minifasnet-v1se-4.0")
    assert score.live == pytest.approx(sum(score.per_model) / 2, abs=1e-6)
    assert score.per_model[0] < 0.1 < score.per_model[1]  # the two crops disagree on this print attack


def test_a_batch_of_faces_scores_like_each_face_alone(
        pad: OnnxPad, samples: dict[str, DecodedImage], sample_faces: dict[str, DetectedFace]) -> None:
    image, face = samples["image_T1.jpg"], sample_faces["image_T1.jpg"]
    shifted = DetectedFace(FaceBox(face.box.x + 30, face.box.y, face.box.w, face.box.h, 0.9),
                           face.landmarks, face.detector_id)
    batch = pad.score_faces(image, [face, shifted])
    alone = [pad.score(image, face), pad.score(image, shifted)]
    for b, a in zip(batch, alone, strict=True):
        assert b.per_model == pytest.approx(a.per_model, abs=1e-6)


def test_a_face_at_the_image_border_is_scored_without_error(
        pad: OnnxPad, samples: dict[str, DecodedImage], sample_faces: dict[str, DetectedFace]) -> None:
    image = samples["image_T1.jpg"]
    face = sample_faces["image_T1.jpg"]
    for x, y in ((-40.0, -30.0), (image.width - 120.0, image.height - 150.0)):
        moved = DetectedFace(FaceBox(x, y, 160.0, 200.0, 0.9), face.landmarks, face.detector_id)
        score = pad.score(image, moved)
        assert 0.0 <= score.live <= 1.0


def test_a_tiny_face_is_a_quality_failure(
        pad: OnnxPad, samples: dict[str, DecodedImage], sample_faces: dict[str, DetectedFace]) -> None:
    face = sample_faces["image_T1.jpg"]
    tiny = DetectedFace(FaceBox(200.0, 200.0, 20.0, 24.0, 0.9), face.landmarks, face.detector_id)
    with pytest.raises(InvalidArgument) as err:
        pad.score(samples["image_T1.jpg"], tiny)
    assert err.value.code == "pad_face_too_small"


def test_onnxruntime_matches_torch_within_1e_4_on_the_sample_crops(
        pad_build_dir: Path, weights_dir: Path, samples: dict[str, DecodedImage],
        sample_faces: dict[str, DetectedFace]) -> None:
    require_torch()
    import onnxruntime as ort
    import torch

    from idverify.ml.pad.artefacts import load_manifest
    from idverify.ml.pad.build import architecture, load_minifasnet
    from idverify.ml.pad.crop import crop_patch, to_input

    for spec in load_manifest(PAD_MANIFEST).family("minifasnet"):
        assert spec.architecture
        assert spec.weights_file
        assert spec.crop_scale
        reference = load_minifasnet(weights_dir / spec.weights_file, architecture(spec.architecture)).model
        session = ort.InferenceSession(str(pad_build_dir / spec.file), providers=["CPUExecutionProvider"])
        batch = to_input([crop_patch(samples[n].pixels, (f.box.x, f.box.y, f.box.w, f.box.h), spec.crop_scale, 80)
                          for n, f in sample_faces.items()])
        with torch.no_grad():
            expected = reference(torch.from_numpy(batch)).numpy()
        got = session.run(None, {spec.input_name: batch})[0]
        assert np.max(np.abs(got - expected)) <= 1e-4


def _copy_build(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_a_tampered_graph_is_refused_at_load(pad_build_dir: Path, tmp_path: Path) -> None:
    build = _copy_build(pad_build_dir, tmp_path / "pad")
    graph = build / "minifasnet-v1se-4.0.onnx"
    data = bytearray(graph.read_bytes())
    data[-10] ^= 0x01
    graph.write_bytes(bytes(data))
    with pytest.raises(FailedPrecondition) as err:
        OnnxPad(PAD_MANIFEST, build)
    assert err.value.code == "model_hash_mismatch"
    assert "minifasnet-v1se-4.0" in err.value.message


def test_a_graph_built_from_other_weights_than_the_manifest_pins_is_refused(
        pad_build_dir: Path, tmp_path: Path) -> None:
    build = _copy_build(pad_build_dir, tmp_path / "pad")
    record = json.loads((build / "pad-build.json").read_text())
    record["models"]["minifasnet-v2-2.7"]["weights_sha256"] = "0" * 64
    (build / "pad-build.json").write_text(json.dumps(record))
    with pytest.raises(FailedPrecondition) as err:
        OnnxPad(PAD_MANIFEST, build)
    assert err.value.code == "model_hash_mismatch"
    assert "minifasnet-v2-2.7" in err.value.message


def test_a_missing_build_record_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition) as err:
        OnnxPad(PAD_MANIFEST, tmp_path)
    assert err.value.code == "model_file_missing"
    assert "build-pad" in err.value.message


def test_build_record_pins_each_graph_and_its_source_weights(pad_build_dir: Path) -> None:
    record = json.loads((pad_build_dir / "pad-build.json").read_text())
    assert record["opset"] == 17
    assert record["prelu"] == "decomposed"
    for model in record["models"].values():
        assert model["sha256"] == sha256_file(pad_build_dir / model["file"])
        assert model["dropped_keys"] == []
        assert model["max_abs_logit_diff"] <= 1e-4
    graph = onnx.load(str(pad_build_dir / "minifasnet-v2-2.7.onnx"))
    assert "PRelu" not in {n.op_type for n in graph.graph.node}


def _mean_model(path: Path) -> None:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 80, 80])
    y = helper.make_tensor_value_info("live", TensorProto.FLOAT, ["N", 1])
    node = helper.make_node("ReduceMean", ["input"], ["live"], axes=[2, 3, 1], keepdims=1)
    flat = helper.make_node("Flatten", ["live"], ["live_flat"])
    out = helper.make_tensor_value_info("live_flat", TensorProto.FLOAT, ["N", 1])
    graph = helper.make_graph([node, flat], "mean", [x], [out], value_info=[y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime 1.31 reads
    onnx.save(model, str(path))


def test_an_operator_live_probability_model_joins_the_fusion(
        pad_build_dir: Path, tmp_path: Path, samples: dict[str, DecodedImage],
        sample_faces: dict[str, DetectedFace]) -> None:
    model = tmp_path / "operator.onnx"
    _mean_model(model)
    entry = f"""
[[model]]
id = "operator-mean"
task = "pad"
family = "live_probability"
file = "operator.onnx"
sha256 = "{sha256_file(model)}"
alignment = "arcface5"
input_name = "input"
input_width = 80
input_height = 80
layout = "NCHW"
colour = "RGB"
mean = [0.0, 0.0, 0.0]
std = [255.0, 255.0, 255.0]
output_meaning = "mean brightness, a stand-in"
licence = "none"
source = "this test"
"""
    manifest = tmp_path / "pad.toml"
    manifest.write_text(PAD_MANIFEST.read_text() + entry)
    pad = OnnxPad(manifest, pad_build_dir)
    score = pad.score(samples["image_T1.jpg"], sample_faces["image_T1.jpg"])
    assert score.model_ids[-1] == "operator-mean"
    assert 0.05 < score.per_model[2] < 0.95
    assert score.live == pytest.approx(sum(score.per_model) / 3, abs=1e-6)
    manifest.write_text(PAD_MANIFEST.read_text() + entry.replace(sha256_file(model), "f" * 64))
    with pytest.raises(FailedPrecondition) as err:
        OnnxPad(manifest, pad_build_dir)
    assert err.value.code == "model_hash_mismatch"


def test_an_operator_model_with_another_input_contract_is_refused(tmp_path: Path) -> None:
    entry: Any = (PAD_MANIFEST.read_text() + '\n[[model]]\nid = "x"\ntask = "pad"\nfamily = "live_probability"\n'
                  'file = "x.onnx"\nsha256 = "' + "a" * 64 + '"\nalignment = "arcface5"\ninput_name = "input"\n'
                  'input_width = 80\ninput_height = 80\nlayout = "NCHW"\ncolour = "BGR"\nmean = [0.0, 0.0, 0.0]\n'
                  'std = [1.0, 1.0, 1.0]\noutput_meaning = "p"\nlicence = "l"\nsource = "s"\n')
    manifest = tmp_path / "pad.toml"
    manifest.write_text(entry)
    with pytest.raises(FailedPrecondition) as err:
        OnnxPad(manifest, tmp_path)
    assert err.value.code == "model_manifest_invalid"
