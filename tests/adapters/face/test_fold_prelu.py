"""The PRelu rewrite of the fold step is the same function as PRelu, and keeps onnxruntime in its blocked layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from idverify.ml.fold import fold_model
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig, create_session

MODELS = Path(__file__).resolve().parents[3] / "models"
CONFIG = SessionConfig(intra_op_threads=1, allow_gpu=False)


def _sface_file() -> bytes:
    spec = ModelRegistry.load(MODELS).spec("sface-2021dec")
    return (MODELS / spec.file).read_bytes()


def _embed(model: bytes, batch: np.ndarray) -> np.ndarray:
    out = np.asarray(create_session(model, CONFIG).run(None, {"data": batch})[0], dtype=np.float32)
    normalised: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
    return normalised


def test_sface_with_the_rewrite_gives_the_embeddings_of_the_prelu_graph() -> None:
    raw = _sface_file()
    crops = np.random.default_rng(7).uniform(0, 255, (4, 3, 112, 112)).astype(np.float32)
    plain = _embed(fold_model(raw, rewrite_prelu=False, dynamic_batch=True), crops)
    rewritten = _embed(fold_model(raw, rewrite_prelu=True, dynamic_batch=True), crops)
    np.testing.assert_allclose(rewritten, plain, atol=1e-5)
    assert float(np.max(np.abs(plain @ plain.T - rewritten @ rewritten.T))) < 1e-5


def test_the_rewrite_leaves_no_prelu_and_no_layout_conversions_inside_the_network(tmp_path: Path) -> None:
    folded = fold_model(_sface_file(), rewrite_prelu=True, dynamic_batch=True)
    assert not [n for n in onnx.load_from_string(folded).graph.node if n.op_type == "PRelu"]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(folded, options, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    # Into the blocked layout once at the start and out once before the final Gemm (80 conversions before).
    assert ops.count("ReorderInput") + ops.count("ReorderOutput") <= 2


@pytest.mark.parametrize("slope", [np.float32(0.25), np.full((1, 1, 1), 0.25, np.float32)])
def test_a_prelu_without_one_slope_per_channel_keeps_the_elementwise_form(slope: np.ndarray) -> None:
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 2, 2])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, 2, 2])
    graph = helper.make_graph([helper.make_node("PRelu", ["x", "slope"], ["y"], name="p")], "g", [x], [y],
                              [numpy_helper.from_array(np.asarray(slope), "slope")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    folded = fold_model(model.SerializeToString())
    ops = [n.op_type for n in onnx.load_from_string(folded).graph.node]
    assert ops == ["Relu", "Min", "Mul", "Add"]
    data = np.linspace(-2, 2, 12, dtype=np.float32).reshape(1, 3, 2, 2)
    got = create_session(folded, CONFIG).run(None, {"x": data})[0]
    np.testing.assert_allclose(got, np.where(data > 0, data, 0.25 * data), atol=1e-7)
