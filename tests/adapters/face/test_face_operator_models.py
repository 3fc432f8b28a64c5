"""Operator-supplied insightface-family models (SCRFD, ArcFace), declared with `idverify models add`.

No real SCRFD or ArcFace weights are available here (nothing may be downloaded), so these tests build tiny
synthetic ONNX graphs with the same input/output contract and known outputs: they check the manifest path,
the adapters' decoding and normalisation, not recognition accuracy.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from idverify.domain.errors import FailedPrecondition
from idverify.ml.detector import ScrfdDetector, load_detector
from idverify.ml.embedder import load_embedder
from idverify.ml.imaging import from_pixels
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.models_cli import register
from idverify.ml.onnx_sessions import SessionConfig

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"
CONFIG = SessionConfig(intra_op_threads=1, inter_op_threads=1, allow_gpu=False)


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def _zero_dependency(name: str) -> list[onnx.NodeProto]:
    """Nodes computing a scalar 0 from the input, so constant outputs still depend on the graph input."""
    return [
        helper.make_node("ReduceMean", ["input.1"], [f"{name}_m"], keepdims=0),
        helper.make_node("Mul", [f"{name}_m", "zero"], [f"{name}_z"]),
    ]


def _scrfd(path: Path) -> None:
    """64 x 64 input, strides 8/16/32, 2 anchors per cell; one face at stride 8, row 3, column 4, anchor 0."""
    nodes, inits, outputs = _zero_dependency("dep"), [numpy_helper.from_array(np.zeros((), np.float32), "zero")], []
    for stride in (8, 16, 32):
        cells = (64 // stride) ** 2 * 2
        score = np.zeros((cells, 1), np.float32)
        if stride == 8:
            score[(3 * 8 + 4) * 2, 0] = 0.9
        values = {"score": score, "bbox": np.ones((cells, 4), np.float32), "kps": np.zeros((cells, 10), np.float32)}
        for kind, value in values.items():
            name = f"{kind}_{stride}"
            inits.append(numpy_helper.from_array(value, f"{name}_c"))
            nodes.append(helper.make_node("Add", [f"{name}_c", "dep_z"], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(
        nodes,
        "scrfd_synthetic",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 64, 64])],
        outputs,
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def _arcface(path: Path) -> None:
    """112 x 112 input with a dynamic batch; output: the three channel means (a 3-d 'embedding')."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["input.1"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["683"]),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface_synthetic",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["n", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["n", 3])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(MODELS_DIR, target)
    _scrfd(tmp_path / "scrfd_synthetic.onnx")
    _arcface(tmp_path / "arcface_synthetic.onnx")
    common = [
        "--models-dir",
        str(target),
        "--licence",
        "test-only",
        "--source",
        "synthetic graph built in this test",
        "--threshold-provenance",
        "none: synthetic",
    ]
    assert (
        _cli(
            "models",
            "add",
            str(tmp_path / "scrfd_synthetic.onnx"),
            "--id",
            "scrfd-synthetic",
            "--task",
            "face_detector",
            "--family",
            "scrfd",
            "--input-name",
            "input.1",
            "--input-size",
            "64x64",
            "--colour",
            "RGB",
            "--mean",
            "127.5,127.5,127.5",
            "--std",
            "128,128,128",
            "--output-meaning",
            "SCRFD scores, distances and keypoints per stride",
            "--param",
            "score_outputs=score_8,score_16,score_32",
            "--param",
            "bbox_outputs=bbox_8,bbox_16,bbox_32",
            "--param",
            "kps_outputs=kps_8,kps_16,kps_32",
            *common,
        )
        == 0
    )
    assert (
        _cli(
            "models",
            "add",
            str(tmp_path / "arcface_synthetic.onnx"),
            "--id",
            "arcface-synthetic",
            "--task",
            "face_embedder",
            "--family",
            "arcface",
            "--input-name",
            "input.1",
            "--input-size",
            "112x112",
            "--colour",
            "RGB",
            "--mean",
            "127.5,127.5,127.5",
            "--std",
            "127.5,127.5,127.5",
            "--output-meaning",
            "embedding",
            *common,
        )
        == 0
    )
    return target


def test_models_add_declares_the_file_with_its_sha256_and_verify_accepts_it(
    models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = ModelRegistry.load(models)
    assert {"scrfd-synthetic", "arcface-synthetic"} <= set(registry.ids())
    assert _cli("models", "verify", "--models-dir", str(models)) == 0
    assert "ok\tscrfd-synthetic" in capsys.readouterr().out


def test_scrfd_adapter_decodes_distances_and_keypoints_from_anchor_centres(models: Path) -> None:
    detector = load_detector(ModelRegistry.load(models), "scrfd-synthetic", CONFIG)
    assert isinstance(detector, ScrfdDetector)
    faces = detector.detect(from_pixels(np.zeros((64, 64, 3), np.uint8)))
    assert len(faces) == 1
    box = faces[0].box
    assert (box.x, box.y, box.w, box.h) == pytest.approx((24.0, 16.0, 16.0, 16.0))
    assert box.score == pytest.approx(0.9)
    assert faces[0].landmarks.nose_tip.x == pytest.approx(32.0)


def test_arcface_adapter_applies_the_declared_mean_and_std_and_l2_normalises(models: Path) -> None:
    embedder = load_embedder(ModelRegistry.load(models), "arcface-synthetic", CONFIG)
    white, black = embedder.embed_crops([np.full((112, 112, 3), 255, np.uint8), np.zeros((112, 112, 3), np.uint8)])
    assert np.linalg.norm(white.values) == pytest.approx(1.0)
    assert white.cosine(black) == pytest.approx(-1.0)
    assert white.model_id == "arcface-synthetic"


def test_a_detector_cannot_be_loaded_as_an_embedder(models: Path) -> None:
    with pytest.raises(FailedPrecondition) as err:
        load_embedder(ModelRegistry.load(models), "scrfd-synthetic", CONFIG)
    assert err.value.code == "model_task_mismatch"


def test_models_add_refuses_a_file_already_present(models: Path, tmp_path: Path) -> None:
    assert (
        _cli(
            "models",
            "add",
            str(tmp_path / "arcface_synthetic.onnx"),
            "--models-dir",
            str(models),
            "--id",
            "x",
            "--task",
            "face_embedder",
            "--family",
            "arcface",
            "--licence",
            "l",
            "--source",
            "s",
            "--input-name",
            "input.1",
            "--input-size",
            "112x112",
            "--colour",
            "RGB",
            "--output-meaning",
            "o",
            "--threshold-provenance",
            "t",
        )
        == 2
    )
