"""SubmitDocument end to end over gRPC with one synthetic PRC ID-card front at 1280 px, and whether other RPCs
keep answering while OCR runs.

    .venv/bin/python bench/bench_document.py [--cards 12] [--out bench/results/document.md]

Synthetic cards only (tests/docgen: generated numbers in unassigned region codes, a deepface-unit photograph as
the portrait); needs the CJK fonts (scripts/install-fonts.sh) and ../shared/data.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=12)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "document.md"))
    opts = parser.parse_args()

    import cv2
    import grpc
    import numpy as np
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from idverify import logging_setup
    from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
    from idverify.app import build
    from idverify.config import Settings
    from tests.docgen.identities import cn_identity
    from tests.docgen.render import render_cn_front

    logging_setup.configure("ERROR")
    faces = Path(os.environ.get("IDVERIFY_SHARED_DATA", ROOT.parent / "shared" / "data")) / "faces" / "deepface-unit"
    photo = np.asarray(cv2.imread(str(faces / "img37.jpg")), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        app = build(Settings.from_env({"IDVERIFY_DATA_DIR": tmp, "IDVERIFY_GRPC_ADDRESS": "127.0.0.1:0",
                                       "IDVERIFY_ADMIN_ADDRESS": "127.0.0.1:0", "IDVERIFY_PAD": "off"}))
        startup = time.perf_counter() - t0
        app.start()
        keys = tomllib.loads((Path(tmp) / "dev-api-keys.toml").read_text())
        md = [("x-api-key", keys["app_backend"])]
        channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        times, decisions, probe = [], [], []
        stop = threading.Event()

        def probe_health() -> None:
            while not stop.is_set():
                s = time.perf_counter()
                health.Check(health_pb2.HealthCheckRequest())
                probe.append(time.perf_counter() - s)
                time.sleep(0.05)

        prober = threading.Thread(target=probe_health)
        prober.start()
        rng = random.Random(5)
        for i in range(opts.cards):
            person = cn_identity(rng, date.today())
            front = cv2.imencode(".jpg", render_cn_front(person, photo=photo, seed=i), [cv2.IMWRITE_JPEG_QUALITY,
                                                                                         90])[1].tobytes()
            ctx = common_pb2.ApplicationContext(applicant_id=f"a-{i}", loan_application_id=f"L-{i}",
                                                amount=common_pb2.Money(value="60000.00", currency="CNY"),
                                                locale="en")
            sid = stub.StartVerification(verification_pb2.StartVerificationRequest(
                context=ctx, phone_e164="+8613800138000", payout_account="6222-01"), metadata=md
            ).verification.session_id
            s = time.perf_counter()
            reply = stub.SubmitDocument(verification_pb2.SubmitDocumentRequest(
                context=ctx, session_id=sid, document_type=verification_pb2.DOCUMENT_TYPE_CN_ID_CARD,
                front_image=front), metadata=md, timeout=120)
            times.append(time.perf_counter() - s)
            decisions.append(reply.extracted.document_number == person.number)
        stop.set()
        prober.join()
        channel.close()
        app.stop(1)
    lines = [
        "# SubmitDocument latency (one PRC ID-card front, 1280 px, synthetic)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; load average at end "
        f"{os.getloadavg()[0]:.2f}; command: `.venv/bin/python bench/bench_document.py`",
        f"- service start-up with face and OCR models loaded: {startup:.2f} s",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| SubmitDocument calls | {len(times)} |",
        f"| median (s) | {statistics.median(times):.2f} |",
        f"| min / max (s) | {min(times):.2f} / {max(times):.2f} |",
        f"| ID number read exactly | {sum(decisions)} / {len(decisions)} |",
        f"| health checks answered during the run | {len(probe)} |",
        f"| health check latency while OCR ran, median / max (ms) | {statistics.median(probe) * 1000:.1f} / "
        f"{max(probe) * 1000:.1f} |",
        "",
        "OCR runs on the inference pool, not on the RPC threads; the health probe (every 50 ms) shows other RPCs",
        "keep answering while it runs.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(opts.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
