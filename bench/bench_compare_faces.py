"""A two-image CompareFaces over gRPC against the sum of its model runs, on the real `idverify serve`.

    .venv/bin/python bench/bench_compare_faces.py [--calls 40] [--rounds 3] [--out bench/results/compare-faces.md]

The server runs as users run it (its own process, face models in-process, PAD and documents off since CompareFaces
uses neither). One client sends CompareFaces (two photographs of ../shared/data/faces/deepface-unit, JPEG, selfie vs
enrolled) one call at a time, with three kinds of input: the photographs as stored (img1.jpg 1382 x 1868, 2.3 MB
baseline; img2.jpg 1536 x 1152, 0.35 MB progressive); the same two as an app should send a selfie (docs/face.md:
upright, longer side 640 px, JPEG quality 90, re-encoded here with OpenCV); and the same at 1280 px, what
docs/face.md asked for until 2026-11-30. The rounds of the three inputs alternate.

The baseline, "the sum of its model runs": the call's model work (one detection per image, one embedding batch of
the two faces) run one model at a time with all of the server's inference threads (2), in this process, on images
decoded beforehand, with the server idle; timed around onnxruntime's ``run`` alone. It is measured after each
round's calls (run between two calls, it left the next call's caches cold) as many times as there were calls, and
the headline is the client's median call against the median of those sums. The server itself runs a comparison's
two detections side by side, each on half the threads (idverify/ml/pipeline.py), so the sum of its own model run
times (``idverify_model_seconds``, read from /metrics before and after each round) counts two half-speed runs at
once and is reported only as what it is. The RPC time is measured by the client (wall, including gRPC and the
network stack on loopback) and by the server (``idverify_rpc_seconds``). Reports per round and the medians of
rounds, with the load average.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.api.v1 import face_pb2, face_pb2_grpc  # noqa: E402
from idverify.ml.imaging import DecodedImage  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402

SHARED = Path(os.environ.get("IDVERIFY_SHARED_DATA", ROOT.parent / "shared" / "data"))
APP_SIDE, APP_QUALITY = 640, 90  # docs/face.md: what an app should send
OLD_SIDE = 1280  # what it asked for until 2026-11-30


def app_sized(data: bytes, side: int = APP_SIDE, quality: int = APP_QUALITY) -> bytes:
    """The photograph as docs/face.md asks an app to send it: upright, longer side at most ``side`` px (640; shrunk
    with INTER_AREA), JPEG at ``quality`` (90)."""
    import cv2

    from idverify.ml.imaging import decode_image

    pixels = decode_image(data).pixels
    factor = side / max(pixels.shape[:2])
    sized = cv2.resize(pixels, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else pixels
    ok, encoded = cv2.imencode(".jpg", sized, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(encoded.tobytes())


def alone_models() -> Callable[[tuple[bytes, bytes]], float]:
    """Model seconds of one comparison run one model at a time with nothing else running: the shipped models on
    the server's settings (2 intra-op threads, CPU), in this process, on images decoded, shrunk and searched
    beforehand (the crops embedded are the call's own)."""
    from prometheus_client import REGISTRY

    from idverify.ml.alignment import align_face
    from idverify.ml.onnx_sessions import SessionConfig
    from idverify.ml.pipeline import FacePipeline, select_face
    from idverify.ml.runner import ort_runners
    from idverify.ml.runner_metrics import timed_runners

    config = SessionConfig(intra_op_threads=2, allow_gpu=False)
    pipeline = FacePipeline.from_models_dir(ROOT / "models", threads=2, allow_gpu=False,
                                            runners=timed_runners(ort_runners(config), "bench"))
    models = (pipeline.detector.model_id, pipeline.embedder_id)

    def seconds() -> float:
        return sum(REGISTRY.get_sample_value("idverify_model_seconds_sum", {"model": m, "backend": "bench"}) or 0.0
                   for m in models)

    prepared: dict[tuple[bytes, bytes], list[tuple[DecodedImage, Any]]] = {}

    def measure(pair: tuple[bytes, bytes]) -> float:
        if pair not in prepared:
            works = [pipeline.working_image(pipeline.decode(data))[0] for data in pair]
            prepared[pair] = [(work, align_face(work.pixels, select_face(pipeline.detector.detect(work), "single",
                                                                          pipeline.policy))) for work in works]
        before = seconds()
        for work, _crop in prepared[pair]:
            pipeline.detector.detect(work)
        pipeline.embedder.embed_crops([crop for _work, crop in prepared[pair]])
        return seconds() - before

    return measure


def describe(data: bytes) -> str:
    from idverify.ml.imaging import probe_image

    header = probe_image(data)
    return f"{header.width}x{header.height}, {len(data) / 1e6:.2f} MB"




def metric_sum(text: str, name: str, label: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}_sum\{{[^}}]*{label}[^}}]*\}} ([0-9.e+-]+)$", text,
                                                      re.M))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "compare-faces.md"))
    opts = parser.parse_args()
    one = (SHARED / "faces" / "deepface-unit" / "img1.jpg").read_bytes()
    two = (SHARED / "faces" / "deepface-unit" / "img2.jpg").read_bytes()
    inputs = {"full-size photos": (one, two), "app-sized selfies": (app_sized(one), app_sized(two)),
              f"selfies at {OLD_SIDE} px": (app_sized(one, OLD_SIDE), app_sized(two, OLD_SIDE))}
    alone = alone_models()
    with tempfile.TemporaryDirectory() as tmp:
        port, admin = free_port(), free_port()
        env = {**os.environ, "IDVERIFY_DATA_DIR": tmp, "IDVERIFY_GRPC_ADDRESS": f"127.0.0.1:{port}",
               "IDVERIFY_ADMIN_ADDRESS": f"127.0.0.1:{admin}", "IDVERIFY_PAD": "off", "IDVERIFY_DOCUMENTS": "off",
               "IDVERIFY_WORKERS": "1", "IDVERIFY_LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "idverify"), "serve"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 120
            while True:
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        break
                except grpc.RpcError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)
            md = [("x-api-key", tomllib.loads((Path(tmp) / "dev-api-keys.toml").read_text())["risk_analyst"])]
            stub = face_pb2_grpc.FaceServiceStub(channel)
            requests = {name: face_pb2.CompareFacesRequest(image_a=a, image_b=b,
                                                           comparison=face_pb2.COMPARISON_SELFIE_VS_ENROLLED)
                        for name, (a, b) in inputs.items()}
            for request in requests.values():
                for _ in range(5):
                    stub.CompareFaces(request, metadata=md)

            def scrape() -> str:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=10) as resp:
                    return str(resp.read().decode())

            rows: dict[str, list[tuple[float, float, float, float, float, float]]] = {name: [] for name in inputs}
            for _, (name, request) in itertools.product(range(opts.rounds), requests.items()):
                before = scrape()
                walls, alones = [], []
                for _ in range(opts.calls):
                    t0 = time.perf_counter()
                    stub.CompareFaces(request, metadata=md)
                    walls.append(time.perf_counter() - t0)
                after = scrape()
                # The models alone after the round's calls, not between them: run between two calls, they left the
                # next call's caches cold (the server's calls took 14 ms longer, their model runs 9 ms longer).
                alones = [alone(inputs[name]) for _ in range(opts.calls)]
                model = (metric_sum(after, "idverify_model_seconds", "model=") -
                         metric_sum(before, "idverify_model_seconds", "model=")) / opts.calls
                served = (metric_sum(after, "idverify_rpc_seconds", 'method="CompareFaces"') -
                          metric_sum(before, "idverify_rpc_seconds", 'method="CompareFaces"')) / opts.calls
                load = os.getloadavg()[0]
                rows[name].append((statistics.mean(walls), statistics.median(walls), served, model, load,
                                   statistics.median(alones)))
            channel.close()
        finally:
            proc.terminate()
            proc.wait(30)
    # r: (client mean, client median, server RPC, server's own model-run sum, load, baseline median)
    ratios = {name: (statistics.median(r[1] / r[5] for r in got), statistics.median(r[2] / r[5] for r in got))
              for name, got in rows.items()}
    lines = [
        "# CompareFaces over gRPC against the sum of its model runs",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; the real `idverify serve` (one "
        "process, face models in-process); one client, calls one at a time",
        f"- command: `.venv/bin/python bench/bench_compare_faces.py --calls {opts.calls} --rounds {opts.rounds}`",
        "- inputs: full-size photos = ../shared/data/faces/deepface-unit img1.jpg "
        f"({describe(inputs['full-size photos'][0])}) and img2.jpg ({describe(inputs['full-size photos'][1])}) as "
        f"stored; app-sized selfies = the same two re-encoded as docs/face.md asks of an app, longer side "
        f"{APP_SIDE} px, JPEG quality {APP_QUALITY} ({describe(inputs['app-sized selfies'][0])}; "
        f"{describe(inputs['app-sized selfies'][1])}); selfies at {OLD_SIDE} px = the same at the size docs/face.md "
        f"asked for until 2026-11-30 ({describe(inputs[f'selfies at {OLD_SIDE} px'][0])}; "
        f"{describe(inputs[f'selfies at {OLD_SIDE} px'][1])}); rounds of the three alternate",
        "- baseline: the call's model work (two detections, one embedding batch of two) one model at a time on the "
        "server's 2 inference threads, in this process, server idle, timed around onnxruntime's run; median of as "
        "many runs as calls, after each round",
        "",
        "| input | round | load | client wall, mean / median (ms) | server RPC time (ms) | baseline: model runs "
        "one at a time, median (ms) | **client median / baseline** | server RPC / baseline | the server's own model "
        "runs, summed (ms; its two detections run side by side on 1 thread each) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {name} | {i + 1} | {r[4]:.2f} | {r[0] * 1e3:.1f} / {r[1] * 1e3:.1f} | {r[2] * 1e3:.1f} | "
          f"{r[5] * 1e3:.1f} | {r[1] / r[5]:.2f}x | {r[2] / r[5]:.2f}x | {r[3] * 1e3:.1f} |"
          for name, got in rows.items() for i, r in enumerate(got)],
        "",
        "Median of rounds, the client-observed call against the sum of its model runs one at a time (target <= "
        "1.15x); in brackets, the server's own RPC time against the same: " + "; ".join(
            f"{name} **{client:.2f}x** ({server:.2f}x)" for name, (client, server) in ratios.items()) + ". "
        "Beyond the models: JPEG decoding of both images (reduced by libjpeg where the photograph is at least twice "
        "the detector's 640 px), the working-image shrink, letterbox and alignment, quality gates, and for the "
        "client gRPC on loopback (the full-size request carries 2.6 MB); the server examines the two images side "
        "by side (two threads), which is how the call can take less than its model runs one at a time.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(opts.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
