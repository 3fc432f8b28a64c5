"""RedeemToken against a trivial RPC on the same server, and single-use inserts, on 2 cores.

    .venv/bin/python bench/bench_rpc.py [--tokens 3000] [--clients 8] [--out bench/results/rpc.md]

A child process builds the real service (SQLite in a temporary folder, WAL), writes N verification sessions with
issued tokens straight through the unit of work (so the timed part is redemption alone), and serves gRPC. The
parent process runs the clients, so client and server do not share a GIL. Measured side by side in one run:
- GetJwks: an authenticated RPC that does no work (the interceptor, auth and serialisation only);
- grpc.health.v1 Check: unauthenticated, the floor;
- RedeemToken: JWS verify + claims + binding + one conditional UPDATE with its audit entry, committed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def serve(data_dir: str, n_tokens: int, ready: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    from idverify import logging_setup
    from idverify.app import build
    from idverify.config import Settings
    from idverify.domain.repositories import SessionSecrets, TokenRecord
    from idverify.domain.session import Status, VerificationSession
    from idverify.domain.values import ApplicationContext, Factor, Money
    from idverify.storage.unit_of_work import SqlUnitOfWork

    settings = Settings.from_env({"IDVERIFY_DATA_DIR": data_dir, "IDVERIFY_GRPC_ADDRESS": "127.0.0.1:0",
                                  "IDVERIFY_ADMIN_ADDRESS": "127.0.0.1:0", "IDVERIFY_LOG_LEVEL": "ERROR",
                                  "IDVERIFY_DOCUMENTS": "off", "IDVERIFY_FACE": "off",
                                  "IDVERIFY_GRPC_WORKERS": os.environ.get("IDVERIFY_GRPC_WORKERS", "16")})
    logging_setup.configure("ERROR")
    app = build(settings)
    now = datetime.now(UTC)
    tokens = []
    amount = Money.parse("1000.00", "CNY")
    for i in range(n_tokens):
        ctx = ApplicationContext.create(applicant_id=f"bench-{i}", loan_application_id=f"L-{i}", amount=amount,
                                        device_id="d", client_ip="10.0.0.1", locale="en")
        session = VerificationSession(session_id=f"vs_bench{i}", reference=f"B{i:04d}-00000"[:11], context=ctx,
                                      status=Status.COMPLETED, required=(Factor.SMS_OTP,), created_at=now,
                                      expires_at=now + timedelta(minutes=15), completed_at=now)
        issued = app.issuer.issue(session_id=session.session_id, applicant_id=ctx.applicant_id,
                                  loan_application_id=ctx.loan_application_id, amount_value="1000.00",
                                  currency="CNY", payout_account="6222-01", factors=[Factor.SMS_OTP],
                                  pad_ran=False, now=now)
        uow = app.verifications._uow()
        assert isinstance(uow, SqlUnitOfWork)
        with uow:
            uow.sessions.add(session, SessionSecrets(payout_account="6222-01"))
            uow.tokens.add(TokenRecord(jti=issued.jti, session_id=session.session_id,
                                       applicant_id=ctx.applicant_id, issued_at=now, expires_at=issued.expires_at))
        tokens.append(issued.token)
    app.start()
    keys = __import__("tomllib").loads((Path(data_dir) / "dev-api-keys.toml").read_text())
    ready.put((app.grpc.port, keys, tokens))
    stop.wait()
    app.stop(grace_s=2)


def run_clients(n_calls: int, clients: int, call) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(n_calls))
    counter_lock = threading.Lock()

    def worker() -> None:
        local = []
        while True:
            with counter_lock:
                i = next(counter, None)
            if i is None:
                break
            t0 = time.perf_counter()
            call(i)
            local.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return n_calls / (time.perf_counter() - start), latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rpc.md"))
    opts = parser.parse_args()

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from idverify.api.v1 import common_pb2, token_pb2, token_pb2_grpc

    ctx = mp.get_context("spawn")
    ready: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    with tempfile.TemporaryDirectory() as tmp:
        child = ctx.Process(target=serve, args=(tmp, opts.tokens, ready, stop))
        child.start()
        port, keys, tokens = ready.get(timeout=600)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        tokens_stub = token_pb2_grpc.TokenServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        loan_md = [("x-api-key", keys["loan_service"])]
        rows = []
        n = opts.tokens
        for _ in range(200):  # warm-up
            tokens_stub.GetJwks(token_pb2.GetJwksRequest(), metadata=loan_md)
        rps, lat = run_clients(n, opts.clients, lambda i: health.Check(health_pb2.HealthCheckRequest()))
        rows.append(("grpc.health.v1 Check (unauthenticated)", rps, lat))
        rps, lat = run_clients(n, opts.clients,
                               lambda i: tokens_stub.GetJwks(token_pb2.GetJwksRequest(), metadata=loan_md))
        rows.append(("GetJwks (authenticated, trivial)", rps, lat))
        outcomes: list[str] = []

        def redeem(i: int) -> None:
            reply = tokens_stub.RedeemToken(token_pb2.RedeemTokenRequest(
                token=tokens[i], loan_application_id=f"L-{i}",
                amount=common_pb2.Money(value="1000.00", currency="CNY"), payout_account="6222-01"),
                metadata=loan_md)
            outcomes.append(reply.token_id)

        rps, lat = run_clients(n, opts.clients, redeem)
        rows.append(("RedeemToken (verify + bind + single-use UPDATE + audit, SQLite)", rps, lat))
        second = 0
        for i in range(50):
            try:
                redeem(i)
            except grpc.RpcError:
                second += 1
        channel.close()
        stop.set()
        child.join(60)

    trivial = rows[1][1]
    lines = [
        "# RPC throughput: RedeemToken beside a trivial RPC",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}; load average at end {os.getloadavg()[0]:.2f}",
        f"- Python {platform.python_version()}; server: sync gRPC, 16 worker threads, SQLite WAL in a temporary folder",
        f"- {opts.clients} client threads in a separate process; {n} calls per row; command: "
        "`.venv/bin/python bench/bench_rpc.py`",
        "",
        "| RPC | req/s | p50 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, rps, lat in rows:
        lines.append(f"| {name} | {rps:,.0f} | {pct(lat, 50):.2f} | {pct(lat, 99):.2f} |")
    lines += [
        "",
        f"RedeemToken / trivial authenticated RPC: **{rows[2][1] / trivial:.2f}** (target >= 0.50).",
        f"Successful redemptions: {len(set(outcomes))} distinct of {n}; second redemptions refused: {second} of 50.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(opts.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
