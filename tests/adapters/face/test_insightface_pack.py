"""Declaring an insightface-format model pack (SCRFD + ArcFace) into a models folder, and running it.

No real pack is available here (nothing may be downloaded, and the packs' terms are non-commercial by default),
so the pack is made of small synthetic ONNX graphs with the published file names and the same input and output
contract (SCRFD: 9 outputs in export order; ArcFace: one), with known outputs.
"""

from __future__ import annotations

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
from idverify.ml.insightface_pack import PACKS, declare_pack
from idverify.ml.model_registry import ModelRegistry, sha256_hex
from idverify.ml.onnx_sessions import SessionConfig

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"
CONFIG = SessionConfig(intra_op_threads=1, inter_op_threads=1, allow_gpu=False)
SIZE = 640


def _save(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
          inits: list[onnx.TensorProto], path: Path) -> None:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def scrfd_graph(path: Path, *, outputs: int = 9) -> None:
    """640 x 640 input; one face at stride 8, row 30, column 40, anchor 0 (centre 320, 240), box distances of
    2 strides each way, nose keypoint 1 stride right of the centre. Outputs named like an export ("448", ...)."""
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    nodes = [helper.make_node("ReduceMean", ["input.1"], ["m"], keepdims=0), helper.make_node("Mul", ["m", "zero"],
                                                                                            ["dep"])]
    values: dict[str, np.ndarray] = {}
    for stride in (8, 16, 32):
        cells = (SIZE // stride) ** 2 * 2
        score = np.zeros((cells, 1), np.float32)
        kps = np.zeros((cells, 10), np.float32)
        if stride == 8:
            score[(30 * 80 + 40) * 2, 0] = 0.95
            kps[(30 * 80 + 40) * 2] = [-1, -1, 1, -1, 1, 0, -1, 1, 1, 1]
        values[f"score{stride}"] = score
        values[f"bbox{stride}"] = np.full((cells, 4), 2.0, np.float32)
        values[f"kps{stride}"] = kps
    order = [f"{kind}{s}" for kind in ("score", "bbox", "kps") for s in (8, 16, 32)][:outputs]
    graph_outputs = []
    for n, key in enumerate(order):
        name = str(448 + n)
        inits.append(numpy_helper.from_array(values[key], f"{key}_c"))
        nodes.append(helper.make_node("Add", [f"{key}_c", "dep"], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(values[key].shape)))
    _save(nodes, [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, SIZE, SIZE])], graph_outputs,
          inits, path)


def arcface_graph(path: Path) -> None:
    """112 x 112 input with a dynamic batch; output: the three channel means (a 3-d 'embedding')."""
    nodes = [helper.make_node("GlobalAveragePool", ["input.1"], ["pool"]), helper.make_node("Flatten", ["pool"],
                                                                                            ["683"])]
    _save(nodes, [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["n", 3, 112, 112])],
          [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["n", 3])], [], path)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(MODELS_DIR, target)
    return target


@pytest.fixture
def buffalo_l(tmp_path: Path) -> Path:
    pack = tmp_path / "packs" / "buffalo_l"
    pack.mkdir(parents=True)
    scrfd_graph(pack / "det_10g.onnx")
    arcface_graph(pack / "w600k_r50.onnx")
    (pack / "1k3d68.onnx").write_bytes(b"not used by idverify")
    return pack


def _declare(folder: Path, models: Path, *, licence: str = "insightface commercial licence #123 (test)",
             pack: str | None = None) -> list[str]:
    return [d.model_id for d in declare_pack(folder, models, licence=licence, source="vendor delivery 2026-11",
                                             pack=pack)]


def test_a_pack_is_declared_with_its_sha256_licence_and_the_output_names_in_export_order(
        buffalo_l: Path, models: Path) -> None:
    ids = _declare(buffalo_l, models)
    assert ids == ["buffalo-l-det-10g", "buffalo-l-w600k-r50"]
    registry = ModelRegistry.load(models)
    det = registry.spec("buffalo-l-det-10g")
    assert (det.task, det.family, det.input_width, det.colour) == ("face_detector", "scrfd", 640, "RGB")
    assert det.sha256 == sha256_hex((buffalo_l / "det_10g.onnx").read_bytes())
    assert det.licence.startswith("insightface commercial licence")
    assert det.param_str("score_outputs", "") == "448,449,450"
    assert det.param_str("kps_outputs", "") == "454,455,456"
    assert not (models / "1k3d68.onnx").exists()
    assert registry.verify().keys() >= set(ids)


def test_the_declared_scrfd_finds_the_face_and_its_keypoints(buffalo_l: Path, models: Path) -> None:
    _declare(buffalo_l, models)
    detector = load_detector(ModelRegistry.load(models), "buffalo-l-det-10g", CONFIG)
    assert isinstance(detector, ScrfdDetector)
    faces = detector.detect(from_pixels(np.zeros((480, 640, 3), np.uint8)))
    assert len(faces) == 1
    box = faces[0].box
    assert (box.x, box.y, box.w, box.h) == pytest.approx((304.0, 224.0, 32.0, 32.0))
    assert box.score == pytest.approx(0.95)
    assert (faces[0].landmarks.nose_tip.x, faces[0].landmarks.nose_tip.y) == pytest.approx((328.0, 240.0))


def test_the_declared_arcface_takes_rgb_centred_on_127_5_and_is_l2_normalised(buffalo_l: Path, models: Path) -> None:
    _declare(buffalo_l, models)
    embedder = load_embedder(ModelRegistry.load(models), "buffalo-l-w600k-r50", CONFIG)
    white, black = embedder.embed_crops([np.full((112, 112, 3), 255, np.uint8), np.zeros((112, 112, 3), np.uint8)])
    assert np.linalg.norm(white.values) == pytest.approx(1.0)
    assert white.cosine(black) == pytest.approx(-1.0)
    blue = np.zeros((112, 112, 3), np.uint8)
    blue[..., 0] = 255  # BGR blue: the graph must see it in its third (B) channel after the RGB swap
    assert np.argmax(embedder.embed_crops([blue])[0].values) == 2


def _unchanged(models: Path, manifest_before: str) -> None:
    assert (models / "manifest.toml").read_text(encoding="utf-8") == manifest_before
    assert not (models / "det_10g.onnx").exists()
    assert not (models / "w600k_r50.onnx").exists()


def test_an_unknown_pack_is_refused_and_nothing_changes(buffalo_l: Path, models: Path, tmp_path: Path) -> None:
    before = (models / "manifest.toml").read_text(encoding="utf-8")
    renamed = buffalo_l.rename(tmp_path / "my_pack")
    with pytest.raises(FailedPrecondition) as err:
        _declare(renamed, models)
    assert err.value.code == "model_pack_unknown"
    assert _declare(renamed, models, pack="buffalo_l") == ["buffalo-l-det-10g", "buffalo-l-w600k-r50"]
    assert before != (models / "manifest.toml").read_text(encoding="utf-8")


def test_a_pack_missing_its_recognition_file_is_refused_and_nothing_changes(buffalo_l: Path, models: Path) -> None:
    before = (models / "manifest.toml").read_text(encoding="utf-8")
    (buffalo_l / "w600k_r50.onnx").unlink()
    with pytest.raises(FailedPrecondition) as err:
        _declare(buffalo_l, models)
    assert err.value.code == "model_file_missing"
    _unchanged(models, before)


def test_a_detector_graph_without_keypoint_outputs_is_refused_not_guessed(buffalo_l: Path, models: Path) -> None:
    before = (models / "manifest.toml").read_text(encoding="utf-8")
    scrfd_graph(buffalo_l / "det_10g.onnx", outputs=6)
    with pytest.raises(FailedPrecondition) as err:
        _declare(buffalo_l, models)
    assert err.value.code == "model_manifest_invalid"
    assert "9 outputs" in err.value.message
    _unchanged(models, before)


def test_the_licence_and_source_must_be_stated(buffalo_l: Path, models: Path) -> None:
    with pytest.raises(FailedPrecondition) as err:
        _declare(buffalo_l, models, licence=" ")
    assert err.value.code == "model_manifest_invalid"


def test_every_published_pack_pairs_one_scrfd_with_one_arcface() -> None:
    for files in PACKS.values():
        assert sorted(m.family for m in files.values()) == ["arcface", "scrfd"]
