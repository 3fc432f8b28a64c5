"""The decoding budget against a real server: what hostile SubmitLivenessFrames streams cost in memory.

Usage: .venv/bin/python bench/bench_decode_budget.py [--rounds 3] [--out bench/results/decode-budget.md]

Starts ``idverify serve`` as a user would (SQLite in a temporary folder, passive PAD off, everything else at its
defaults), opens verifications that require liveness, and sends, interleaved over several rounds:

* ``hostile x1``: one stream of 20 tiny PNGs whose headers declare 8000 x 5000 pixels (about 120 KB each on the wire,
  really 120 MB each decoded: issue 11's attack);
* ``hostile x6``: six such streams at once;
* ``normal x1``: one stream of 30 ordinary 640 x 480 JPEG frames (a reference: what a legitimate capture costs).

The server's resident set is sampled from /proc every 5 ms; each row reports the peak during the streams minus the
median in the half second before them (medians and maxima over the rounds). No assertion: figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc  # noqa: E402
from tests.adapters.liveness.hostile import declared_png  # noqa: E402

V = verification_pb2
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        return 0
    return 0


def process_tree(root: int) -> list[int]:
    """The server and its worker processes (``idverify serve`` forks one per core by default)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += children
        frontier = children
    return tree


def tree_rss(pids: list[int]) -> int:
    return sum(rss_bytes(pid) for pid in pids)


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pids = process_tree(pid)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), tree_rss(self.pids)))
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def window(self, start: float, end: float) -> list[int]:
        return [r for t, r in self.samples if start <= t <= end]


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "IDVERIFY_DATA_DIR": str(data_dir), "IDVERIFY_GRPC_ADDRESS": address,
           "IDVERIFY_ADMIN_ADDRESS": f"127.0.0.1:{free_port()}", "IDVERIFY_PAD": "off", "IDVERIFY_LOG_LEVEL": "WARNING",
           "IDVERIFY_LIVENESS_CHALLENGES_PER_HOUR": "1000"}
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "idverify", "serve"], env=env, stdout=log, stderr=log,
                               cwd=data_dir)
    deadline = time.monotonic() + 120
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text()[-2000:])
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return process, address
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise RuntimeError("server did not become SERVING")


def context(applicant: str) -> common_pb2.ApplicationContext:
    return common_pb2.ApplicationContext(applicant_id=applicant, loan_application_id=f"L-{applicant}",
                                         amount=common_pb2.Money(value="6000.00", currency="CNY"),
                                         device_id=f"dev-{applicant}", client_ip="203.0.113.9", locale="en")


def stream(stub: verification_pb2_grpc.VerificationServiceStub, md: list[tuple[str, str]], applicant: str,
           images: list[bytes]) -> str:
    """Open a verification, take a challenge, send the frames; return the outcome's reason."""
    ctx = context(applicant)
    sid = stub.StartVerification(V.StartVerificationRequest(
        context=ctx, phone_e164="+8613800138000", payout_account="6222-01",
        consent=V.Consent(biometric_processing=True, text_version="v1")), metadata=md).verification.session_id
    challenge = stub.StartLivenessChallenge(V.StartLivenessChallengeRequest(context=ctx, session_id=sid),
                                            metadata=md).challenge
    t0 = int(time.time() * 1000)

    def messages() -> object:
        for n, image in enumerate(images):
            yield V.SubmitLivenessFramesRequest(context=ctx if n == 0 else None, session_id=sid,
                                                challenge_id=challenge.challenge_id, nonce=challenge.nonce,
                                                captured_at_ms=t0 + 70 * n, image=image, sequence=n)

    try:
        answer = stub.SubmitLivenessFrames(messages(), metadata=md, timeout=120)
        return answer.result.reason_code
    except grpc.RpcError as err:
        trailing = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
        return str(trailing.get("idverify-reason", err.code().name))


def measure(sampler: Sampler, run: Callable[[], list[str]]) -> tuple[float, list[str]]:
    time.sleep(0.6)
    before_start = time.monotonic() - 0.5
    start = time.monotonic()
    reasons = run()
    end = time.monotonic()
    time.sleep(0.2)
    baseline = statistics.median(sampler.window(before_start, start))
    peak = max(sampler.window(start, end + 0.2))
    return (peak - baseline) / MB, reasons


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "decode-budget.md")
    args = parser.parse_args()
    hostile = declared_png(8000, 5000)
    rng = np.random.default_rng(0)
    normal = [cv2.imencode(".jpg", rng.integers(0, 255, (480, 640, 3), dtype=np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for _ in range(30)]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        process, address = start_server(data_dir)
        try:
            keys = tomllib.loads((data_dir / "dev-api-keys.toml").read_text())
            md = [("x-api-key", keys["app_backend"])]
            channel = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 64 * MB)])
            stub = verification_pb2_grpc.VerificationServiceStub(channel)
            counter = iter(range(1_000_000))

            def one(images: list[bytes]) -> list[str]:
                return [stream(stub, md, f"bench-{next(counter)}", images)]

            def six() -> list[str]:
                out: list[str] = [""] * 6
                names = [f"bench-{next(counter)}" for _ in range(6)]

                def worker(i: int) -> None:
                    out[i] = stream(stub, md, names[i], [hostile] * 20)

                threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return out

            scenarios: dict[str, Callable[[], list[str]]] = {
                "hostile x1 (20 PNGs declaring 8000x5000)": lambda: one([hostile] * 20),
                "hostile x6 at once": six,
                "normal x1 (30 JPEG frames 640x480)": lambda: one(normal),
            }
            results: dict[str, list[float]] = {name: [] for name in scenarios}
            reasons: dict[str, set[str]] = {name: set() for name in scenarios}
            one(normal)  # warm the models once, as a serving process would be
            with Sampler(process.pid) as sampler:
                for _ in range(args.rounds):
                    for name, run in scenarios.items():
                        delta, got = measure(sampler, run)
                        results[name].append(delta)
                        reasons[name].update(got)
                serving_rss = tree_rss(sampler.pids) / MB
                processes = len(sampler.pids)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    load = os.getloadavg()[0]
    lines = [
        "# Decoding budget: server memory under hostile liveness streams",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, {platform.machine()}; "
        f"load average at end {load:.2f}",
        f"- command: `.venv/bin/python bench/bench_decode_budget.py --rounds {args.rounds}`; server: `idverify serve`, "
        f"SQLite, PAD off, other settings default ({processes} processes); their RSS at the end {serving_rss:.0f} MB",
        f"- hostile frame: a valid PNG of {len(hostile):,} bytes declaring 8000 x 5000 (120 MB decoded)",
        "- figure: peak RSS of the server's processes (summed) during the streams minus the median in the 0.5 s before "
        "(sampled every 5 ms)",
        "",
        "| streams | added peak RSS, median (MB) | max (MB) | rounds | answers |",
        "|---|---:|---:|---:|---|",
    ]
    for name, values in results.items():
        lines.append(f"| {name} | {statistics.median(values):.1f} | {max(values):.1f} | {len(values)} | "
                     f"{', '.join(sorted(reasons[name]))} |")
    lines += ["", "Targets (issue 11): one hostile stream < 200 MB, six at once < 600 MB."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
