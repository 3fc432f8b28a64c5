"""SFace embedding per aligned crop: the PRelu forms of the folded graph and OpenCV's FaceRecognizerSF, interleaved.

    .venv/bin/python bench/bench_embed_graph.py [--rounds 3] [--threads 2]

Sides, all on the same folded fp32 SFace weights and the same 112 x 112 crops (the faces of
../shared/data/faces/deepface-unit, detected with YuNet and aligned as the service does):
- ``PRelu``: the folded graph with onnxruntime's own PRelu kernel;
- ``min form``: PRelu as ``Relu(x) + slope * Min(x, 0)`` (the previous fold step);
- ``channel form``: PRelu as ``x + (1 - slope) * Relu(-x)`` with per-channel BatchNormalization (the fold step now);
- ``OpenCV``: cv2.FaceRecognizerSF.feature on the shipped (channel form) graph, with cv2.setNumThreads(threads).
Each crop runs on every side in turn; per side the median wall and process-CPU milliseconds over crops, then the
median over rounds, with the load average, and the largest embedding difference from the ``PRelu`` side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.ml.alignment import align_face  # noqa: E402
from idverify.ml.fold import fold_model  # noqa: E402
from idverify.ml.imaging import from_pixels  # noqa: E402
from idverify.ml.model_registry import ModelRegistry  # noqa: E402
from idverify.ml.onnx_sessions import SessionConfig, create_session  # noqa: E402
from idverify.ml.pipeline import FacePipeline  # noqa: E402


def min_form(plain: bytes) -> bytes:
    """The previous rewrite: every PRelu as Relu(x) + slope * Min(x, 0)."""
    model = onnx.load_from_string(plain)
    nodes = []
    for node in model.graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        (x, slope), y, base = node.input, node.output[0], node.name or node.output[0]
        nodes += [helper.make_node("Relu", [x], [f"{base}/pos"]),
                  helper.make_node("Min", [x, "bench_zero"], [f"{base}/neg"]),
                  helper.make_node("Mul", [f"{base}/neg", slope], [f"{base}/scaled"]),
                  helper.make_node("Add", [f"{base}/pos", f"{base}/scaled"], [y])]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), "bench_zero"))
    return model.SerializeToString()


def crops_of(folder: Path, pipeline: FacePipeline) -> list[np.ndarray]:
    crops = []
    for path in sorted(folder.glob("*.jpg")):
        read = cv2.imread(str(path))
        if read is None:
            continue
        img = np.asarray(read, np.uint8)
        scale = min(1.0, 640 / max(img.shape[:2]))
        if scale < 1.0:
            img = np.asarray(cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                                        interpolation=cv2.INTER_AREA), np.uint8)
        faces = pipeline.detector.detect(from_pixels(img, "jpeg"))
        if faces:
            crops.append(align_face(img, max(faces, key=lambda f: f.box.w * f.box.h)))
    return crops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "data" / "faces" / "deepface-unit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    registry = ModelRegistry.load(ROOT / "models")
    spec = registry.spec("sface-2021dec")
    raw = (ROOT / "models" / spec.file).read_bytes()
    plain = fold_model(raw, rewrite_prelu=False, dynamic_batch=True)
    shipped = registry.model_bytes("sface-2021dec")
    config = SessionConfig(intra_op_threads=args.threads, allow_gpu=False)
    pipeline = FacePipeline.from_models_dir(ROOT / "models", threads=args.threads, allow_gpu=False)
    crops = crops_of(args.images, pipeline)
    model_file = Path(tempfile.mkdtemp()) / "sface.onnx"
    model_file.write_bytes(shipped)
    recogniser = cv2.FaceRecognizerSF.create(str(model_file), "")

    def ort_side(model: bytes) -> Callable[[np.ndarray], np.ndarray]:
        session = create_session(model, config)

        def embed(crop: np.ndarray) -> np.ndarray:
            tensor = np.ascontiguousarray(crop[..., ::-1].transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
            return np.asarray(session.run(None, {"data": tensor})[0], np.float32).reshape(-1)

        return embed

    sides: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "PRelu": ort_side(plain), "min form": ort_side(min_form(plain)), "channel form": ort_side(shipped),
        "OpenCV": lambda crop: np.asarray(recogniser.feature(crop), np.float32).reshape(-1),
    }
    worst = dict.fromkeys(sides, 0.0)
    for crop in crops:
        ref = sides["PRelu"](crop)
        ref /= np.linalg.norm(ref)
        for name, embed in sides.items():
            out = embed(crop)
            worst[name] = max(worst[name], float(np.abs(out / np.linalg.norm(out) - ref).max()))
    load_before = os.getloadavg()[0]
    per_round: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for crop in crops:
            for name, embed in sides.items():
                wall, cpu = time.perf_counter(), time.process_time()
                embed(crop)
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        for name, values in times.items():
            per_round[name].append((statistics.median(v[0] for v in values),
                                    statistics.median(v[1] for v in values)))
    load_after = os.getloadavg()[0]
    lines = [
        "# SFace embedding per aligned crop: PRelu forms and OpenCV, interleaved",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; load average {load_before:.2f} "
        f"before, {load_after:.2f} after; {len(crops)} crops x {args.rounds} rounds; {args.threads} threads; "
        f"opencv-python-headless {cv2.__version__}",
        f"- command: `.venv/bin/python bench/bench_embed_graph.py --rounds {args.rounds} --threads {args.threads}`",
        "",
        "| side | wall ms (median) | process CPU ms (median) | max difference from PRelu (L2-normalised) |",
        "|---|---:|---:|---:|",
        *[f"| {name} | {statistics.median(r[0] for r in rounds) * 1000:.2f} | "
          f"{statistics.median(r[1] for r in rounds) * 1000:.2f} | {worst[name]:.1e} |"
          for name, rounds in per_round.items()],
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
