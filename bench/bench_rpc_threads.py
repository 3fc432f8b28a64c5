"""How the RPC threads are run, measured: a trivial authenticated RPC (GetJwks) on the real service with the RPC
executor at several concurrency settings and with the plain thread pool it replaced, beside a bare gRPC server.

    .venv/bin/python bench/bench_rpc_threads.py [--calls 4000] [--rounds 8] [--clients 8] \\
        [--out bench/results/rpc-threads.md]

Child processes: the bare sync gRPC server of bench_rpc.py (plain ``ThreadPoolExecutor``, 16 threads, an empty
unary); and the real service (``app.build`` on SQLite, face and documents off, one INFO line per RPC to /dev/null,
metrics on, API keys from a keys file), three processes per variant (and three bare ones), each row's calls split
evenly across its three (identical processes can differ by up to 1.5x for as long as they live,
docs/reports/single-node-perf.md, section 8): ``IDVERIFY_GRPC_CONCURRENCY`` 1, 2 (the default) and 4
with 16 threads, and the same service on a plain ``ThreadPoolExecutor`` of 16 threads (what the server used
before the RPC executor, swapped in for this bench only). The parent runs 8 client threads. Each round measures
every row once, in an order reversed every other round, after waiting until all servers are idle; it reports the
medians over rounds of req/s and of each serving process's CPU per call, and per round the ratio of each row to
the bare server.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_rpc import REPLICAS, run_split, serve, serve_bare  # noqa: E402
from bench_tokens import _cpu_model  # noqa: E402

THREADS = 16
#: Row label -> IDVERIFY_GRPC_CONCURRENCY, or 0 for the plain thread pool.
VARIANTS = {
    "service, plain ThreadPoolExecutor (16 threads, as before)": 0,
    "service, RPC executor, concurrency 1": 1,
    "service, RPC executor, concurrency 2 (default)": 2,
    "service, RPC executor, concurrency 4": 4,
}
BARE = "bare gRPC trivial unary (ThreadPoolExecutor, 16 threads)"


def serve_variant(concurrency: int, data_dir: str, ready: Any, stop: Any) -> None:
    """bench_rpc's service child with this variant's RPC threads."""
    os.environ["IDVERIFY_GRPC_WORKERS"] = str(THREADS)
    if concurrency:
        os.environ["IDVERIFY_GRPC_CONCURRENCY"] = str(concurrency)
    else:  # the plain pool the server used before the RPC executor (bench only)
        from concurrent import futures

        from idverify.transport import server

        server.RpcExecutor = lambda workers, _concurrency, **_options: futures.ThreadPoolExecutor(  # type: ignore[assignment, misc]
            max_workers=workers, thread_name_prefix="rpc")
    serve(data_dir, f"sqlite+pysqlite:///{data_dir}/idverify.db", "", 0, ready, stop)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=4000, help="calls per row and round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rpc-threads.md"))
    opts = parser.parse_args()

    import grpc

    from idverify.api.v1 import token_pb2, token_pb2_grpc

    ctx = mp.get_context("spawn")
    started = datetime.now(UTC)
    calls: dict[str, list[tuple[int, Any]]] = {}
    pids: list[int] = []
    processes: list[tuple[Any, Any]] = []
    channels: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        readies: dict[str, list[tuple[int, Any]]] = {label: [] for label in [BARE, *VARIANTS]}
        for n, (label, concurrency) in enumerate(VARIANTS.items()):
            for k in range(REPLICAS):
                folder = Path(tmp) / f"v{n}-{k}"
                folder.mkdir()
                ready, stop = ctx.Queue(), ctx.Event()
                process = ctx.Process(target=serve_variant, args=(concurrency, str(folder), ready, stop))
                process.start()
                processes.append((process, stop))
                readies[label].append((process.pid, ready))
        for _ in range(REPLICAS):
            bare_ready, bare_stop = ctx.Queue(), ctx.Event()
            bare = ctx.Process(target=serve_bare, args=(THREADS, bare_ready, bare_stop))
            bare.start()
            processes.append((bare, bare_stop))
            readies[BARE].append((bare.pid, bare_ready))
        for label, started_here in readies.items():
            calls[label] = []
            for pid, ready in started_here:
                pids.append(pid)
                if label == BARE:
                    channel = grpc.insecure_channel(f"127.0.0.1:{ready.get(timeout=120)}")
                    ping = channel.unary_unary("/bench.Bare/Ping")
                    calls[label].append((pid, lambda i, ping=ping: ping(b"")))
                else:
                    port, keys, _tokens = ready.get(timeout=600)
                    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
                    stub, md = token_pb2_grpc.TokenServiceStub(channel), [("x-api-key", keys["loan_service"])]
                    calls[label].append((pid, lambda i, stub=stub, md=md: stub.GetJwks(token_pb2.GetJwksRequest(),
                                                                                         metadata=md)))
                channels.append(channel)
        rows = [BARE, *VARIANTS]
        for label in rows:
            for _pid, call in calls[label]:
                for _ in range(300):
                    call(0)
        rates: dict[str, list[float]] = {label: [] for label in rows}
        cpu: dict[str, list[float]] = {label: [] for label in rows}
        loads: list[float] = []
        for r in range(opts.rounds):
            loads.append(os.getloadavg()[0])
            for label in (rows if r % 2 == 0 else rows[::-1]):
                row = run_split(calls[label], opts.calls, opts.clients, pids)
                cpu[label].append(row.cpu_us)
                rates[label].append(row.rps)
            print(f"round {r + 1}: " + ", ".join(f"{rates[k][-1]:.0f}" for k in rows), flush=True)
        for channel in channels:
            channel.close()
        for _process, stop in processes:
            stop.set()
        for process, _stop in processes:
            process.join(60)

    def of_bare(label: str) -> list[float]:
        return [a / b for a, b in zip(rates[label], rates[BARE], strict=True)]

    lines = [
        "# RPC threads: the service's trivial RPC under each way of running its RPC threads",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, {_cpu_model()}; "
        f"Python {platform.python_version()}",
        "- load average (1 min) before each round: " + ", ".join(f"{x:.2f}" for x in loads),
        f"- {opts.clients} client threads in the parent process; {opts.calls} calls per row per round; "
        f"{opts.rounds} rounds, the row order reversed every other round, every server idle before each row; "
        f"each row on {REPLICAS} processes of its kind, its calls split evenly across them; "
        "command: `.venv/bin/python bench/bench_rpc_threads.py`",
        "- service rows: GetJwks (authenticated, trivial) on the real service, SQLite, one INFO line per RPC to "
        "/dev/null, metrics on, API keys from a keys file; server CPU per call: the serving process's user + system "
        "time over its row",
        "",
        "| row | req/s (median) | server CPU per call, us (median) | / bare, median (rounds) |",
        "|---|---:|---:|---:|",
    ]
    for label in rows:
        ratios = of_bare(label)
        lines.append(f"| {label} | {statistics.median(rates[label]):,.0f} | {statistics.median(cpu[label]):,.0f} | "
                     f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")
    labels = list(VARIANTS)
    before, default = labels[0], labels[2]
    gain = [a / b for a, b in zip(rates[default], rates[before], strict=True)]
    lines += ["", f"- The default (concurrency 2) against the plain thread pool, per round: median "
              f"**{statistics.median(gain):.2f}x** (rounds {min(gain):.2f}-{max(gain):.2f}); server CPU per call "
              f"{statistics.median(cpu[default]):,.0f} us against {statistics.median(cpu[before]):,.0f} us."]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(opts.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
