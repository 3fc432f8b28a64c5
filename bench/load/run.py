"""Load harness: the realistic mix against 1, 2 and 3 replicas on one PostgreSQL, behind nginx (grpc_pass) and
through PgBouncer (transaction mode). Loopback only; everything it starts it stops; bounded in time and flows.

    .venv/bin/python -m bench.load.run --replicas 1,2,3 --duration 60 --users 16
    .venv/bin/python -m bench.load.run --replicas 2 --duration 600 --users 8 --sample-s 10   # the soak

Prints a Markdown report (throughput, p50/p99 per RPC, errors by reason, resident memory, the invariants) and
writes the raw figures as JSON with --json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bench_rpc import cpu_seconds
from bench.load.flows import Driver, Mix, Outbox, Recorder, photo_pairs
from bench.load.invariants import Verdict, check
from bench.load.stack import ROOT, Stack


def database_stats(stack: Stack) -> dict[str, int]:
    """Commits, rows written and size of the run's database (PostgreSQL's own counters, so PgBouncer is no
    matter): what one verification costs the database."""
    import psycopg

    url = stack.direct_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, pg_database_size(datname) "
            "FROM pg_stat_database WHERE datname = current_database()").fetchone()
    assert row is not None
    return dict(zip(("commits", "inserted", "updated", "deleted", "bytes"), (int(x) for x in row), strict=True))


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of processes and their live descendants."""
    children, total, todo = _children(), 0.0, list(pids)
    while todo:
        current = todo.pop()
        try:
            total += cpu_seconds(current)
        except (OSError, ValueError, IndexError):
            continue
        todo.extend(children.get(current, []))
    return total


def database_backends(stack: Stack) -> list[int]:
    import psycopg

    url = stack.direct_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        return [int(r[0]) for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (a replica's parent and workers), MiB."""
    children = _children()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
        todo.extend(children.get(current, []))
    return total / 2**20


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int], every_s: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every_s = pids, every_s
        self.samples: list[tuple[float, list[float]]] = []
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.monotonic() - self._t0, [tree_rss_mib(p) for p in self.pids]))
            self._halt.wait(self.every_s)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)
        self.samples.append((time.monotonic() - self._t0, [tree_rss_mib(p) for p in self.pids]))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_one(replicas: int, args: argparse.Namespace, photos: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    with Stack(replicas=replicas, workers=args.workers, pgbouncer=not args.no_pgbouncer, face=bool(photos),
               keep_logs=Path(args.logs) / f"r{replicas}" if args.logs else None) as stack:
        reps = stack.replica_list
        outbox = Outbox([r.outbox for r in reps])
        driver = Driver(f"127.0.0.1:{stack.nginx_port}", [f"127.0.0.1:{r.grpc_port}" for r in reps],
                        stack.api_keys, outbox, Mix(face_share=args.face_share if photos else 0.0), photos)
        sampler = RssSampler([r.process.pid for r in reps], args.sample_s)
        load_before = os.getloadavg()
        db_before = database_stats(stack)
        service_pids = [r.process.pid for r in reps]
        cpu_before = tree_cpu_s(service_pids), time.process_time()
        sampler.start()
        elapsed = asyncio.run(driver.run(args.users, args.duration, args.max_flows))
        sampler.stop()
        # Backends are opened during the run (PgBouncer connects lazily): their whole CPU time is the run's.
        cpu = {"replicas": tree_cpu_s(service_pids) - cpu_before[0],
               "postgres_backends": tree_cpu_s(database_backends(stack)),
               "nginx_pgbouncer": tree_cpu_s([p.pid for p in stack.helpers]),
               "load_clients": time.process_time() - cpu_before[1]}
        time.sleep(11.0)  # idle backends report their statistics to pg_stat_database within 10 s
        db_after = database_stats(stack)
        load_after = os.getloadavg()
        verdicts = check(stack, driver.rec, stack.env)
    result = summarise(replicas, args, driver.rec, elapsed, sampler, verdicts, load_before, load_after)
    started = max(1, len(driver.rec.started))
    result["database_per_started_verification"] = {k: round((db_after[k] - db_before[k]) / started, 1)
                                                   for k in db_before}
    result["cpu_seconds"] = {k: round(v, 1) for k, v in cpu.items()}
    result["replica_cpu_ms_per_completed_verification"] = round(
        1000 * cpu["replicas"] / max(1, len(driver.rec.completed)), 1)
    return result


def summarise(replicas: int, args: argparse.Namespace, rec: Recorder, elapsed: float, sampler: RssSampler,
              verdicts: list[Verdict], load_before: tuple[float, ...], load_after: tuple[float, ...]
              ) -> dict[str, Any]:
    rpcs = {name: {"count": len(v), "p50_ms": round(pct(v, 0.5), 1), "p99_ms": round(pct(v, 0.99), 1),
                   "per_s": round(len(v) / elapsed, 1)} for name, v in sorted(rec.latencies.items())}
    errors = {f"{rpc} {code} {reason}".strip(): n for (rpc, code, reason), n in sorted(rec.outcomes.items())
              if code != "OK"}
    rss = sampler.samples
    steady = [s for s in rss if s[0] >= min(30.0, rss[-1][0] / 2)] or rss
    return {
        "replicas": replicas, "workers_per_replica": args.workers, "users": args.users,
        "pgbouncer": not args.no_pgbouncer, "duration_s": round(elapsed, 1),
        "verifications_completed": len(rec.completed),
        "verifications_per_s": round(len(rec.completed) / elapsed, 2),
        "rpcs_per_s": round(sum(len(v) for v in rec.latencies.values()) / elapsed, 1),
        "flows": dict(sorted(rec.flows.items())), "rpcs": rpcs, "errors": errors,
        "face_scores_median": round(statistics.median(rec.face_scores), 3) if rec.face_scores else None,
        "rss_mib": {"first_steady": [round(x) for x in steady[0][1]], "last": [round(x) for x in rss[-1][1]],
                    "max": [round(max(s[1][i] for s in rss)) for i in range(len(rss[0][1]))],
                    "samples": [(round(t), [round(x) for x in v]) for t, v in rss]},
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after],
        "invariants": [{"name": v.name, "ok": v.ok, "detail": v.detail} for v in verdicts],
    }


def markdown(results: list[dict[str, Any]], command: str) -> str:
    lines = [f"Command: `{command}`", "",
             f"Machine: {platform.node() or 'host'}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", ""]
    lines += ["| replicas x workers | verifications/s | RPCs/s | flows | errors "
              "| RSS per replica MiB (steady -> last, max) |",
              "|---|---|---|---|---|---|"]
    for r in results:
        flows = ", ".join(f"{k} {v}" for k, v in r["flows"].items())
        errors = sum(r["errors"].values())
        rss = ", ".join(f"{a}->{b} ({c})" for a, b, c in zip(r["rss_mib"]["first_steady"], r["rss_mib"]["last"],
                                                              r["rss_mib"]["max"], strict=True))
        lines.append(f"| {r['replicas']} x {r['workers_per_replica']} | {r['verifications_per_s']} | "
                     f"{r['rpcs_per_s']} | {flows} | {errors} | {rss} |")
    for r in results:
        lines += ["", f"### {r['replicas']} replica(s) x {r['workers_per_replica']} worker(s), {r['users']} users, "
                      f"{r['duration_s']} s, PgBouncer {'on' if r['pgbouncer'] else 'off'}; load average "
                      f"{r['loadavg_before'][0]} -> {r['loadavg_after'][0]}", "",
                  "| RPC | calls | per s | p50 ms | p99 ms |", "|---|---|---|---|---|"]
        lines += [f"| {name} | {v['count']} | {v['per_s']} | {v['p50_ms']} | {v['p99_ms']} |"
                  for name, v in r["rpcs"].items()]
        if "cpu_seconds" in r:
            lines += ["", f"CPU seconds during the run: {r['cpu_seconds']}; replicas' CPU per completed verification "
                          f"(whole mix, face share included): {r['replica_cpu_ms_per_completed_verification']} ms"]
        if "database_per_started_verification" in r:
            db = r["database_per_started_verification"]
            lines += ["", f"Database per started verification (all flows included): {db['commits']} commits, "
                          f"{db['inserted']} rows inserted, {db['updated']} updated, {db['deleted']} deleted, "
                          f"{db['bytes']} bytes of growth"]
        if r["errors"]:
            lines += ["", "Errors: " + "; ".join(f"{k}: {n}" for k, n in r["errors"].items())]
        lines += ["", "Invariants:"] + [f"- {'PASS' if v['ok'] else 'FAIL'} {v['name']}: {v['detail']}"
                                         for v in r["invariants"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2,3", help="comma-separated replica counts, one run each")
    parser.add_argument("--workers", type=int, default=1, help="`serve --workers` of each replica")
    parser.add_argument("--users", type=int, default=16, help="concurrent virtual users")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per run")
    parser.add_argument("--max-flows", type=int, default=100_000, help="upper bound on flows per run")
    parser.add_argument("--face-share", type=float, default=0.10, help="share of flows comparing two photographs")
    parser.add_argument("--photos", default=str(ROOT.parent / "shared/data/faces/deepface-unit"))
    parser.add_argument("--no-pgbouncer", action="store_true", help="connect the replicas straight to PostgreSQL")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--json", default="", help="write the raw figures here")
    parser.add_argument("--logs", default="", help="keep the replicas' logs in this folder")
    args = parser.parse_args(argv)
    photos_dir = Path(args.photos)
    photos = photo_pairs(photos_dir) if (photos_dir / "face-recognition-pivot.csv").exists() else []
    if not photos:
        print(f"note: no photographs at {photos_dir}; the face share is off", file=sys.stderr)
    results = []
    for replicas in (int(x) for x in args.replicas.split(",")):
        print(f"== {replicas} replica(s)", file=sys.stderr, flush=True)
        results.append(run_one(replicas, args, photos))
    command = "python -m bench.load.run " + " ".join(argv if argv is not None else sys.argv[1:])
    print(markdown(results, command))
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "results": results}, indent=1))
    return 0 if all(v["ok"] for r in results for v in r["invariants"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
