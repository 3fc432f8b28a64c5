"""Console pages at volume: 10,000 dispute cases, 2,000 approvals and 1,000,000 audit entries, on SQLite and on
PostgreSQL.

Usage: .venv/bin/python bench/bench_console.py [--backends sqlite,postgres] [--rounds 15]
       [--audit-rows 1000000] [--cases 10000] [--out bench/results/console.md]
PostgreSQL: --postgres-url or IDVERIFY_TEST_POSTGRES_URL (a fresh schema is created and dropped).

For each backend: migrate an empty database, seed it directly (bulk inserts; audit rows get well-formed but
unverifiable MACs, and the chain head is moved past them so the sealer leaves them alone: this measures reads,
not the chain), start ``idverify serve`` as a user would (its own process; face and documents off), create one
real disputed verification through the API, run the console on an ephemeral port in this process, sign in as
the development admin with their own key and authenticator, and GET each page over HTTP, interleaved, several
rounds. Each page's time is the whole request: console -> gRPC -> database -> the read's own audit append ->
template. Medians, p95 and max in ms, with the load average. No assertion: figures.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pyotp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine, func, insert, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.api.v1 import (  # noqa: E402
    case_pb2,
    case_pb2_grpc,
    common_pb2,
    verification_pb2,
    verification_pb2_grpc,
)
from idverify.console.server import ConsoleServer, console_app  # noqa: E402
from idverify.console.settings import ConsoleSettings  # noqa: E402
from idverify.storage import migrate  # noqa: E402
from idverify.storage.engine import make_engine  # noqa: E402
from idverify.storage.tables import metadata  # noqa: E402

V = verification_pb2
ACTIONS = ["verification.started", "factor.recorded", "token.issued", "token.redeemed", "risk.evaluated",
           "rpc.refused", "case.read", "cases.listed", "audit.searched", "tokens.revoked", "staff.sign_in"]
RARE = "approval.approve"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def filler(column: Any, now: datetime) -> Any:
    """A value for a required column this bench does not know (the audit schema may grow)."""
    python = getattr(column.type, "python_type", str)
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = python
    if kind is datetime:
        return now
    if kind is int:
        return 0
    if kind is bytes:
        return b""
    return ""


def rows_for(table: Any, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    row = {}
    for column in table.c:
        if column.name in values:
            row[column.name] = values[column.name]
        elif not column.nullable and column.server_default is None and not (
                column.primary_key and column.autoincrement in (True, "auto")):
            row[column.name] = filler(column, now)
    return row


def seed(engine: Engine, cases: int, audit_rows: int) -> dict[str, float]:
    rng = random.Random(17)
    now = datetime.now(UTC)
    t = metadata.tables
    timings: dict[str, float] = {}
    started = time.perf_counter()
    states = ["opened"] * 3 + ["investigating"] * 2 + ["resolved_fraud_confirmed"] * 4 + ["resolved_not_fraud"]
    case_rows = []
    for i in range(cases):
        opened = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
        state = rng.choice(states)
        case_rows.append(rows_for(t["dispute_cases"], {
            "case_id": f"case_seed{i:06d}", "state": state, "applicant_id": f"acct-{i % 7000}", "reference": None,
            "loan_application_id": f"L-seed-{i}", "session_id": f"vs_seed{i:06d}", "channel": "app",
            "description_enc": None, "opened_at": opened, "respond_by": opened + timedelta(days=3),
            "investigator": "dev-support" if state != "opened" else None,
            "closed_at": opened + timedelta(days=1) if state.startswith("resolved") else None,
            "outcome": "loan_cancelled" if state == "resolved_fraud_confirmed" else (
                "no_action" if state == "resolved_not_fraud" else None),
            "decided_by": "dev-support" if state.startswith("resolved") else None, "approval_id": None,
            "version": 1}, now))
    approvals = []
    for i in range(cases // 5):
        at = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
        approvals.append(rows_for(t["approval_requests"], {
            "approval_id": f"apr_seed{i:06d}", "action": "unfreeze_identity", "object_id": f"acct-{i}",
            "applicant_id": f"acct-{i}", "reason": "seeded", "requested_by": f"staff-{i % 40}", "requested_at": at,
            "expires_at": at + timedelta(days=30), "status": rng.choice(["pending", "approved", "used", "rejected"]),
            "decided_by": None, "decided_at": None, "used_at": None}, now))
    with engine.begin() as conn:
        conn.execute(insert(t["dispute_cases"]), case_rows)
        conn.execute(insert(t["approval_requests"]), approvals)
    timings["cases_and_approvals_s"] = time.perf_counter() - started

    started = time.perf_counter()
    audit = t["audit_entries"]
    start_at = now - timedelta(days=60)
    step = timedelta(days=60) / max(audit_rows, 1)

    def entry(i: int) -> dict[str, Any]:
        action = RARE if i % 1000 == 0 else ACTIONS[i % len(ACTIONS)]
        actor = f"staff-{i % 40}" if action.startswith(("case", "audit", "staff", "approval")) else "lender-app"
        return rows_for(audit, {
            "entry_id": uuid.UUID(int=i).hex, "at": start_at + step * i, "actor_id": actor,
            "actor_role": "support" if actor.startswith("staff") else "app_backend", "action": action,
            "object_type": "verification", "object_id": f"vs_seed{(i // 5) % 200_000:06d}", "outcome": "ok",
            "reason_code": "", "purpose": "", "details": "{}",
            "entry_hash": hashlib.sha256(str(i).encode()).hexdigest()}, now)

    batch = 20_000
    if engine.dialect.name == "postgresql":
        columns = list(entry(0).keys())
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for first in range(0, audit_rows, batch):
                buffer = io.StringIO()
                for i in range(first, min(first + batch, audit_rows)):
                    row = entry(i)
                    buffer.write("\t".join(v.isoformat() if isinstance(v, datetime) else str(v)
                                           for v in (row[c] for c in columns)) + "\n")
                with cur.copy(f"COPY audit_entries ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
            raw.commit()
        finally:
            raw.close()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        for first in range(0, audit_rows, batch):
            with engine.begin() as conn:
                conn.execute(insert(audit), [entry(i) for i in range(first, min(first + batch, audit_rows))])
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with engine.begin() as conn:  # the sealer seals only what comes after the seeded rows
        top = conn.execute(select(func.max(audit.c.seq))).scalar_one()
        head = t.get("audit_chain_head")
        if head is not None and "max_entry_seq" in head.c:
            conn.execute(update(head).values(max_entry_seq=top))
    timings["audit_rows_s"] = time.perf_counter() - started
    return timings


def start_service(data_dir: Path, database_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "IDVERIFY_DATA_DIR": str(data_dir), "IDVERIFY_DATABASE_URL": database_url,
           "IDVERIFY_GRPC_ADDRESS": f"127.0.0.1:{port}", "IDVERIFY_ADMIN_ADDRESS": f"127.0.0.1:{free_port()}",
           "IDVERIFY_FACE": "off", "IDVERIFY_DOCUMENTS": "off", "IDVERIFY_LOG_LEVEL": "WARNING"}
    with (data_dir / "serve.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([str(ROOT / ".venv/bin/idverify"), "serve", "--grace", "1"], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                channel.close()
                return proc, port
        except grpc.RpcError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"idverify serve exited: {(data_dir / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.2)
    raise SystemExit("idverify serve did not become SERVING")


def real_case(channel: grpc.Channel, keys: dict[str, str], data_dir: Path) -> str:
    """One disputed verification through the API, so the case page has a timeline to draw."""
    md = [("x-api-key", keys["app_backend"])]
    ctx = common_pb2.ApplicationContext(
        applicant_id="acct-real", loan_application_id="L-real", device_id="dev-1", client_ip="203.0.113.9",
        locale="en", amount=common_pb2.Money(value="1000.00", currency="CNY"))
    stub = verification_pb2_grpc.VerificationServiceStub(channel)
    started = stub.StartVerification(V.StartVerificationRequest(context=ctx, phone_e164="+8613800138000",
                                                                payout_account="6222-01"), metadata=md)
    sid = started.verification.session_id
    stub.SendOtp(V.SendOtpRequest(context=ctx, session_id=sid), metadata=md)
    outbox = data_dir / "sms-outbox.jsonl"
    deadline = time.monotonic() + 30
    code = None
    while code is None and time.monotonic() < deadline:
        lines = outbox.read_text().splitlines() if outbox.exists() else []
        if lines:  # the first six-digit number of the latest text is the code
            found = re.search(r"\b(\d{6})\b", json.loads(lines[-1])["body"])
            code = found.group(1) if found else None
        time.sleep(0.1)
    assert code is not None, "no SMS code in the outbox"
    stub.CheckOtp(V.CheckOtpRequest(context=ctx, session_id=sid, code=code, channel=V.OTP_CHANNEL_SMS), metadata=md)
    done = stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx, session_id=sid), metadata=md)
    case = case_pb2_grpc.CaseServiceStub(channel).ReportUnauthorizedApplication(
        case_pb2.ReportUnauthorizedApplicationRequest(applicant_id="acct-real", reference=done.verification.reference),
        metadata=md).case
    return str(case.case_id)


def signed_in_client(base: str, channel: grpc.Channel, keys: dict[str, str]) -> httpx.Client:
    uri = case_pb2_grpc.CaseServiceStub(channel).EnrollStaffTotp(
        case_pb2.EnrollStaffTotpRequest(), metadata=[("x-api-key", keys["admin"])]).provisioning_uri
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/sign-in", data={"csrf": csrf, "api_key": keys["admin"],
                                             "code": pyotp.parse_uri(uri).now()})
    assert response.status_code == 303, response.text
    return client


def measure(backend: str, url: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    print(f"[{backend}] seeding {args.cases} cases, {args.audit_rows} audit rows ...", flush=True)
    seeded = seed(engine, args.cases, args.audit_rows)
    with engine.connect() as conn:
        counts = {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                  for name in ("dispute_cases", "approval_requests", "audit_entries")}
    engine.dispose()
    data_dir = work / backend
    data_dir.mkdir()
    proc, port = start_service(data_dir, url)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    keys = tomllib.loads((data_dir / "dev-api-keys.toml").read_text())
    settings = ConsoleSettings(address="127.0.0.1:0", service_target=f"127.0.0.1:{port}")
    server = ConsoleServer(console_app(settings, channel), settings)
    server.start()
    try:
        case_id = real_case(channel, keys, data_dir)
        client = signed_in_client(f"http://127.0.0.1:{server.port}", channel, keys)
        first = client.get("/cases").text
        token = re.search(r'page=([^"&]+)"', first)
        pages = {
            "queue: open cases, first page": "/cases",
            "queue: open cases, page 2": f"/cases?state=open&page={token.group(1) if token else ''}",
            "queue: overdue only": "/cases?state=open&overdue=1",
            "queue: one applicant, all states": "/cases?state=all&applicant=acct-1234",
            "case page (GetCase + signed evidence + JWKS)": f"/cases/{case_id}?purpose=bench",
            "approvals inbox": "/approvals",
            "audit: newest 50": "/audit?purpose=bench",
            "audit: one object": "/audit?purpose=bench&object_id=vs_seed001234",
            "audit: one actor": "/audit?purpose=bench&actor=staff-7",
            "audit: rare action (0.1%)": f"/audit?purpose=bench&action={RARE}",
            "audit: deep page (before seq 500,000)": "/audit?purpose=bench&before=500000",
        }
        times: dict[str, list[float]] = {name: [] for name in pages}
        for round_no in range(args.rounds + 2):
            for name, path in pages.items():
                started = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (name, response.status_code, response.text[:500])
                if round_no >= 2:  # two warm-up rounds
                    times[name].append(elapsed)
        load = os.getloadavg()
    finally:
        server.stop()
        channel.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return {"backend": backend, "counts": counts, "seeded": seeded, "times": times, "load": load}


def tree_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    return f"{git('rev-parse', '--short', 'HEAD')}{' with uncommitted changes' if git('status', '--porcelain') else ''}"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = ["# Console pages at volume", "",
             f"Command: `.venv/bin/python bench/bench_console.py --backends {args.backends} --rounds {args.rounds} "
             f"--cases {args.cases} --audit-rows {args.audit_rows}`  ",
             f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; machine: {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}; tree: {tree_state()}", "",
             "Each figure is one whole page request over HTTP to the console (console -> gRPC to `idverify serve` "
             "in its own process -> database, including the read's own audit entry -> HTML), after two warm-up "
             f"rounds; {args.rounds} rounds, pages interleaved. Target: under 300 ms.", ""]
    for result in results:
        counts = ", ".join(f"{k} {v:,}" for k, v in result["counts"].items())
        seeded = ", ".join(f"{k} {v:.0f} s" for k, v in result["seeded"].items())
        load = " ".join(f"{x:.2f}" for x in result["load"])
        lines += [f"## {result['backend']}", "", f"Rows: {counts}. Seeding: {seeded}. Load average after: {load}.",
                  "", "| page | median ms | p95 ms | max ms |", "|---|---:|---:|---:|"]
        for name, values in result["times"].items():
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            lines.append(f"| {name} | {statistics.median(values):.1f} | {p95:.1f} | {max(values):.1f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--audit-rows", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=os.environ.get("IDVERIFY_TEST_POSTGRES_URL", ""))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        work = Path(tmp)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                results.append(measure("sqlite", f"sqlite+pysqlite:///{work / 'console.db'}", args, work))
            elif backend == "postgres":
                if not args.postgres_url:
                    print("postgres skipped: no --postgres-url or IDVERIFY_TEST_POSTGRES_URL", file=sys.stderr)
                    continue
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                admin = make_engine(args.postgres_url)
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                sep = "&" if "?" in args.postgres_url else "?"
                try:
                    results.append(measure("postgres", f"{args.postgres_url}{sep}options=-csearch_path%3D{schema}",
                                           args, work))
                finally:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    text_report = report(results, args)
    print(text_report)
    if args.out:
        Path(args.out).write_text(text_report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
