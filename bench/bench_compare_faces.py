"""A two-image CompareFaces over gRPC against the sum of its model runs, on the real `idverify serve`.

    .venv/bin/python bench/bench_compare_faces.py [--calls 40] [--rounds 3] [--out bench/results/compare-faces.md]

The server runs as users run it (its own process, face models in-process, PAD and documents off since
CompareFaces uses neither). One client sends CompareFaces (two photographs of ../shared/data/faces/deepface-unit,
JPEG, selfie vs enrolled) one call at a time. The model time comes from the server's own
``idverify_model_seconds`` histogram (every detector and embedder run, timed around onnxruntime's ``run``),
read from /metrics before and after each round; the RPC time is measured by the client (wall, including gRPC and
the network stack on loopback) and by the server (``idverify_rpc_seconds``). Reports the ratios per round and
their medians, with the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.api.v1 import face_pb2, face_pb2_grpc  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402

SHARED = Path(os.environ.get("IDVERIFY_SHARED_DATA", ROOT.parent / "shared" / "data"))




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
            request = face_pb2.CompareFacesRequest(image_a=one, image_b=two,
                                                   comparison=face_pb2.COMPARISON_SELFIE_VS_ENROLLED)
            for _ in range(5):
                stub.CompareFaces(request, metadata=md)

            def scrape() -> str:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=10) as resp:
                    return str(resp.read().decode())

            rows = []
            for _ in range(opts.rounds):
                before = scrape()
                walls = []
                for _ in range(opts.calls):
                    t0 = time.perf_counter()
                    stub.CompareFaces(request, metadata=md)
                    walls.append(time.perf_counter() - t0)
                after = scrape()
                model = (metric_sum(after, "idverify_model_seconds", "model=") -
                         metric_sum(before, "idverify_model_seconds", "model=")) / opts.calls
                served = (metric_sum(after, "idverify_rpc_seconds", 'method="CompareFaces"') -
                          metric_sum(before, "idverify_rpc_seconds", 'method="CompareFaces"')) / opts.calls
                rows.append((statistics.mean(walls), statistics.median(walls), served, model, os.getloadavg()[0]))
            channel.close()
        finally:
            proc.terminate()
            proc.wait(30)
    client_ratio = statistics.median(r[0] / r[3] for r in rows)
    server_ratio = statistics.median(r[2] / r[3] for r in rows)
    lines = [
        "# CompareFaces over gRPC against the sum of its model runs",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; the real `idverify serve` (one "
        "process, face models in-process); one client, calls one at a time",
        f"- command: `.venv/bin/python bench/bench_compare_faces.py --calls {opts.calls} --rounds {opts.rounds}`",
        "",
        "| round | load | client wall, mean / median (ms) | server RPC time (ms) | model runs (ms) | "
        "client / model | server / model |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *[f"| {i + 1} | {r[4]:.2f} | {r[0] * 1e3:.1f} / {r[1] * 1e3:.1f} | {r[2] * 1e3:.1f} | {r[3] * 1e3:.1f} | "
          f"{r[0] / r[3]:.2f}x | {r[2] / r[3]:.2f}x |" for i, r in enumerate(rows)],
        "",
        f"Median of rounds: the client-observed call is **{client_ratio:.2f}x** the sum of its model runs (target "
        f"<= 1.15x); inside the server, **{server_ratio:.2f}x**. Beyond the models: JPEG decoding of both images, "
        "the letterbox and alignment, quality gates, and for the client gRPC on loopback.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(opts.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
