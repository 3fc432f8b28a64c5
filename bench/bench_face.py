"""Face pipeline benchmark: per-stage latency, two-image verification, throughput, RSS and cold start, beside
OpenCV's own pipeline (cv2.FaceDetectorYN + FaceRecognizerSF) on the same images and the same folded models.

    .venv/bin/python bench/bench_face.py [--images DIR] [--out docs/reports/face-bench.md]

Prints markdown; medians over the photographs of the folder. The machine is shared: figures are noisy, compare
the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.factors.face_match import DEFAULT_THRESHOLDS, Comparison  # noqa: E402
from idverify.ml.alignment import align_face  # noqa: E402
from idverify.ml.fold import fold_model  # noqa: E402
from idverify.ml.matcher import FaceMatcher  # noqa: E402
from idverify.ml.pipeline import FacePipeline  # noqa: E402


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f}"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cold_start() -> float:
    code = (
        "import time; t=time.perf_counter(); from idverify.ml.pipeline import FacePipeline; "
        f"FacePipeline.from_models_dir({str(ROOT / 'models')!r}, threads=2); print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "data" / "faces" / "deepface-unit")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each throughput run")
    args = parser.parse_args()
    files = sorted(args.images.glob("*.jpg"))
    blobs = [f.read_bytes() for f in files]
    cold = cold_start()
    pipeline = FacePipeline.from_models_dir(ROOT / "models", threads=2, allow_gpu=False)
    rss_models = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    tmp = Path(tempfile.mkdtemp())
    (tmp / "yunet.onnx").write_bytes(pipeline_model(pipeline, "yunet-2023mar"))
    sface = fold_model(
        (ROOT / "models" / "face_recognition_sface_2021dec_int8bq.onnx").read_bytes(), rewrite_prelu=False
    )
    (tmp / "sface.onnx").write_bytes(sface)
    cv2.setNumThreads(2)
    recogniser = cv2.FaceRecognizerSF.create(str(tmp / "sface.onnx"), "")

    t_decode: list[float] = []
    t_work: list[float] = []
    t_detect: list[float] = []
    t_align_embed: list[float] = []
    t_embed: list[float] = []
    t_cv_detect: list[float] = []
    t_cv_align_embed: list[float] = []
    for _ in range(2):  # first pass warms up; keep the second
        t_decode, t_work, t_detect, t_align_embed, t_embed = [], [], [], [], []
        t_cv_detect, t_cv_align_embed = [], []
        for blob in blobs:
            start = time.perf_counter()
            image = pipeline.decode(blob)
            t_decode.append(time.perf_counter() - start)
            start = time.perf_counter()
            work, _ = pipeline.working_image(image)
            t_work.append(time.perf_counter() - start)
            start = time.perf_counter()
            faces = pipeline.detector.detect(work)
            t_detect.append(time.perf_counter() - start)
            face = faces[0]
            start = time.perf_counter()
            crop = align_face(work.pixels, face)
            t_mid = time.perf_counter()
            pipeline.embedder.embed_crops([crop])
            t_end = time.perf_counter()
            t_align_embed.append(t_end - start)
            t_embed.append(t_end - t_mid)
            detector = cv2.FaceDetectorYN.create(str(tmp / "yunet.onnx"), "", (work.width, work.height), 0.6, 0.3)
            start = time.perf_counter()
            _, cv_faces = detector.detect(work.pixels)
            t_cv_detect.append(time.perf_counter() - start)
            start = time.perf_counter()
            recogniser.feature(recogniser.alignCrop(work.pixels, cv_faces[0]))
            t_cv_align_embed.append(time.perf_counter() - start)

    pair = [_jpeg_640x480(args.images / "img1.jpg"), _jpeg_640x480(args.images / "img2.jpg")]
    matcher = FaceMatcher(pipeline, DEFAULT_THRESHOLDS["sface-2021dec"], enforce_quality=False)
    e2e = [timed(lambda: matcher.compare_images(pair[0], pair[1], Comparison.SELFIE_VS_ENROLLED)) for _ in range(15)]
    result = matcher.compare_images(pair[0], pair[1], Comparison.SELFIE_VS_ENROLLED)
    cv_e2e = [timed(lambda: _cv_verify(pair, tmp, recogniser)) for _ in range(15)]

    single_stream = _throughput(matcher, pair, workers=1, seconds=args.seconds)
    one_thread = FacePipeline.from_models_dir(ROOT / "models", threads=1, allow_gpu=False)
    two_workers = _throughput(
        FaceMatcher(one_thread, DEFAULT_THRESHOLDS["sface-2021dec"], enforce_quality=False),
        pair,
        workers=2,
        seconds=args.seconds,
    )
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    lines = [
        "# Face pipeline benchmark",
        "",
        f"Host: {os.cpu_count()} CPUs visible (shared machine), onnxruntime CPU, OpenCV {cv2.__version__}. "
        f"{len(files)} photographs of {args.images.name}, medians of the second pass; photographs shrunk to at "
        "most 640 px before detection for both pipelines.",
        "",
        "| stage (ms per image, 2 threads) | idverify (onnxruntime) | OpenCV 5 (same folded models) |",
        "|---|---|---|",
        f"| decode (cv2.imdecode + header checks) | {ms(t_decode)} | - |",
        f"| shrink to 640 | {ms(t_work)} | (same) |",
        f"| detect | {ms(t_detect)} | {ms(t_cv_detect)} |",
        f"| align + embed | {ms(t_align_embed)} (embed alone {ms(t_embed)}) | {ms(t_cv_align_embed)} |",
        "",
        "| two-image verification, two 640x480 JPEGs | idverify | OpenCV |",
        "|---|---|---|",
        f"| end to end (decode, detect, gates, align, embed x2, compare), ms | {ms(e2e)} | {ms(cv_e2e)} |",
        f"| score of the pair (img1 vs img2 crops) | {result.score:.3f} (matched={result.matched}) | - |",
        "",
        "| throughput on this host | verifications/s |",
        "|---|---|",
        f"| 1 stream, 2 intra-op threads | {single_stream:.1f} |",
        f"| 2 streams, 1 thread each | {two_workers:.1f} |",
        "",
        f"Cold start (new interpreter: imports, sha256 checks, folding, two sessions): {cold:.2f} s.  ",
        f"Peak RSS after loading the models: {rss_models:.0f} MB; after the whole benchmark (two pipelines "
        f"loaded): {rss_peak:.0f} MB.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


def pipeline_model(pipeline: FacePipeline, model_id: str) -> bytes:
    from idverify.ml.model_registry import ModelRegistry

    return ModelRegistry.load(ROOT / "models").model_bytes(model_id)


def _jpeg_640x480(path: Path) -> bytes:
    image = cv2.imread(str(path))
    assert image is not None
    h, w = image.shape[:2]
    scale = max(640 / w, 480 / h)
    resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    y0, x0 = (resized.shape[0] - 480) // 2, (resized.shape[1] - 640) // 2
    return cv2.imencode(".jpg", resized[y0 : y0 + 480, x0 : x0 + 640], [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def _cv_verify(pair: list[bytes], tmp: Path, recogniser: cv2.FaceRecognizerSF) -> float:
    features = []
    for blob in pair:
        image = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        detector = cv2.FaceDetectorYN.create(str(tmp / "yunet.onnx"), "", (image.shape[1], image.shape[0]), 0.6, 0.3)
        _, faces = detector.detect(image)
        features.append(recogniser.feature(recogniser.alignCrop(image, faces[0])))
    return float(recogniser.match(features[0], features[1], cv2.FaceRecognizerSF_FR_COSINE))


def _throughput(matcher: FaceMatcher, pair: list[bytes], workers: int, seconds: float) -> float:
    done = [0] * workers
    stop = time.perf_counter() + seconds

    def run(slot: int) -> None:
        while time.perf_counter() < stop:
            matcher.compare_images(pair[0], pair[1], Comparison.SELFIE_VS_ENROLLED)
            done[slot] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
