"""Per-image face pipeline (detect, align, embed) against OpenCV's own FaceDetectorYN + FaceRecognizerSF.

    .venv/bin/python bench/bench_face_vs_opencv.py [--rounds 5] [--threads 2] [--out bench/results/face.md]

Both sides run the same folded models (the bytes idverify verifies and runs), the same photographs (the 64 of
../shared/data/faces/deepface-unit, longer side capped at 640 px, decoded once before timing), the same thread count
(onnxruntime intra-op threads and cv2.setNumThreads), and each reuses its detector across images (OpenCV's
FaceDetectorYN is created once and given each image's size with setInputSize, as a real user would). The two sides
are interleaved image by image within each round; the figures are medians over images, then medians of rounds.
Reported: per-stage and per-image milliseconds, the ratio ours / OpenCV per round, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.ml.alignment import align_face  # noqa: E402
from idverify.ml.imaging import from_pixels  # noqa: E402
from idverify.ml.model_registry import ModelRegistry  # noqa: E402
from idverify.ml.pipeline import FacePipeline  # noqa: E402


def load_images(folder: Path) -> list[np.ndarray]:
    images = []
    for path in sorted(folder.glob("*.jpg")):
        img = cv2.imread(str(path))
        if img is None:
            continue
        scale = min(1.0, 640 / max(img.shape[:2]))
        if scale < 1.0:
            img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
        images.append(np.ascontiguousarray(img))
    return images


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "data" / "faces" / "deepface-unit")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    images = load_images(args.images)
    pipeline = FacePipeline.from_models_dir(ROOT / "models", threads=args.threads, allow_gpu=False)
    registry = ModelRegistry.load(ROOT / "models")
    tmp = Path(tempfile.mkdtemp())
    (tmp / "yunet.onnx").write_bytes(registry.model_bytes("yunet-2023mar"))
    (tmp / "sface.onnx").write_bytes(registry.model_bytes("sface-2021dec"))
    detector = cv2.FaceDetectorYN.create(str(tmp / "yunet.onnx"), "", (320, 320), 0.6, 0.3, 5000)
    recogniser = cv2.FaceRecognizerSF.create(str(tmp / "sface.onnx"), "")

    def ours(img: np.ndarray) -> tuple[float, float, float]:
        image = from_pixels(img, "jpeg")
        t0 = time.perf_counter()
        faces = pipeline.detector.detect(image)
        t1 = time.perf_counter()
        if not faces:
            return t1 - t0, 0.0, 0.0
        face = max(faces, key=lambda f: f.box.w * f.box.h)
        crop = align_face(img, face)
        t2 = time.perf_counter()
        pipeline.embedder.embed_crops([crop])
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    def opencv(img: np.ndarray) -> tuple[float, float, float]:
        t0 = time.perf_counter()
        detector.setInputSize((img.shape[1], img.shape[0]))
        _, found = detector.detect(img)
        t1 = time.perf_counter()
        if found is None or len(found) == 0:
            return t1 - t0, 0.0, 0.0
        face = max(found, key=lambda f: f[2] * f[3])
        crop = recogniser.alignCrop(img, face)
        t2 = time.perf_counter()
        recogniser.feature(crop)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    for img in images[:4]:  # warm both
        ours(img)
        opencv(img)
    load_before = os.getloadavg()[0]
    rounds = []
    for _ in range(args.rounds):
        a_stage: list[tuple[float, float, float]] = []
        b_stage: list[tuple[float, float, float]] = []
        for img in images:
            a_stage.append(ours(img))
            b_stage.append(opencv(img))
        rounds.append((a_stage, b_stage))
    load_after = os.getloadavg()[0]

    def med(stages: list[tuple[float, float, float]], k: int | None) -> float:
        values = [sum(s) if k is None else s[k] for s in stages]
        return statistics.median(values) * 1000

    rows = []
    for name, k in (("detect", 0), ("align", 1), ("embed", 2), ("per image (detect + align + embed)", None)):
        a = statistics.median(med(r[0], k) for r in rounds)
        b = statistics.median(med(r[1], k) for r in rounds)
        rows.append((name, a, b))
    ratios = [med(r[0], None) / med(r[1], None) for r in rounds]
    lines = [
        "# Face pipeline per image: idverify against OpenCV's own pipeline on the same models",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; load average {load_before:.2f} "
        f"before, {load_after:.2f} after; {len(images)} photographs, {args.rounds} rounds, {args.threads} threads",
        f"- opencv-python-headless {cv2.__version__}; baseline: cv2.FaceDetectorYN (created once, setInputSize per "
        "image) + FaceRecognizerSF.alignCrop + feature",
        f"- command: `.venv/bin/python bench/bench_face_vs_opencv.py --rounds {args.rounds} --threads {args.threads}`",
        "",
        "| stage (median ms) | idverify | OpenCV | ratio |",
        "|---|---:|---:|---:|",
        *[f"| {n} | {a:.1f} | {b:.1f} | {a / b:.2f}x |" for n, a, b in rows],
        "",
        f"Per-image ratio idverify / OpenCV, median of rounds: **{statistics.median(ratios):.2f}x** "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}); target <= 0.9x.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
