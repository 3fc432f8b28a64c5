"""RedeemToken on SQLite and on PostgreSQL, interleaved in one run, beside a trivial RPC, on the real service.

    IDVERIFY_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/bench_rpc.py [--calls 2000] [--rounds 7] [--clients 8] [--out bench/results/rpc.md]

Child processes build the real service (`app.build`, face and documents off, the audit sealer running, callers'
API keys read from a keys file as in deploy/kubernetes, `IDVERIFY_API_KEYS_FILE`): one on
SQLite (WAL, synchronous=NORMAL as the service sets it, in a temporary folder), one on PostgreSQL (stock settings,
a schema of its own, dropped at the end), and three bench-only variants: two so the backends can also be compared
at equal durability (SQLite fsyncing every commit; PostgreSQL with synchronous_commit=off), and PostgreSQL with the
audit append skipped, to show what the audit costs on this path. Each writes
``calls * rounds`` completed verification sessions with issued tokens straight through the unit of work, so the
timed part is redemption alone, and serves gRPC. The parent process runs the clients (so client and servers do not
share a GIL). Each round measures, in an order reversed every other round:
- a bare sync gRPC server (its own process, same thread count, no interceptor, logs or metrics): the baseline;
  and the same bare server on the service's RPC executor, to show what the executor alone does to it;
- grpc.health.v1 Check and GetJwks (authenticated, no work) on the SQLite server: the floor and the trivial RPC;
- RedeemToken on each server: JWS verify + claims + binding + freeze check + the single-use UPDATE with its audit
  entry (on PostgreSQL in the UPDATE's own statement, on SQLite a second one), committed.
The two bare servers, the health check, the trivial RPC and RedeemToken on SQLite and on PostgreSQL (the service as
configured; not the bench variants) run on ``REPLICAS`` processes each, their calls split evenly across them within
the row: identical server
processes differed by up to 1.5x in GetJwks throughput for as long as they lived, not always the same one
(docs/reports/single-node-perf.md, section 8), so one process per side measured that process as much as the code.
Before each row the bench waits until every server process is idle (the audit sealers chain a redemption row's
entries for seconds after it; that work once landed on whichever row came next, the trivial rows more often than
the bare one), and it reads each serving process's CPU time over its row. The result reports medians over rounds
(req/s, p50, p99, server CPU per call), every round with the 1-minute load average before it, and the ratios of
RedeemToken between the backends per round.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_tokens import _cpu_model  # noqa: E402 - the one reader of the CPU's model name

from idverify.config import Settings  # noqa: E402


def serve(data_dir: str, database_url: str, durability: str, n_tokens: int, ready: Any, stop: Any) -> None:
    from idverify import logging_setup
    from idverify.app import build
    from idverify.domain.repositories import SessionSecrets, TokenRecord
    from idverify.domain.session import Status, VerificationSession
    from idverify.domain.values import ApplicationContext, Factor, Money
    from idverify.storage.unit_of_work import SqlUnitOfWork
    from idverify.transport.auth import hash_api_key

    # Callers' keys from a file, as a production deployment has them (deploy/kubernetes), not the development keys.
    key = secrets.token_urlsafe(32)
    keys_file = Path(data_dir) / "api-keys.txt"
    keys_file.write_text(f"bench-loan-service:loan_service:{hash_api_key(key)}\n")
    settings = Settings.from_env({"IDVERIFY_DATA_DIR": data_dir, "IDVERIFY_GRPC_ADDRESS": "127.0.0.1:0",
                                  "IDVERIFY_API_KEYS_FILE": str(keys_file),
                                  "IDVERIFY_ADMIN_ADDRESS": "127.0.0.1:0", "IDVERIFY_LOG_LEVEL": "INFO",
                                  "IDVERIFY_DOCUMENTS": "off", "IDVERIFY_FACE": "off", "IDVERIFY_WORKERS": "1",
                                  "IDVERIFY_DATABASE_URL": database_url,
                                  **thread_overrides()})
    # As users run it: one INFO line per RPC, rendered and written (to /dev/null here, so the bench's terminal
    # stays readable; the cost of formatting and writing is still paid).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    logging_setup.configure("INFO")
    if durability == "no-audit":  # what the audit append costs on this path: the same server without it
        from idverify.audit.log import AuditLog
        from idverify.storage import sql_tokens

        AuditLog.append = lambda self, conn, entry: None  # type: ignore[assignment, method-assign, return-value]
        plain_init = sql_tokens.SqlTokenRepository.__init__

        def unaudited(self: Any, conn: Any, **_audit: Any) -> None:  # no entry in the redemption's statement either
            plain_init(self, conn)

        sql_tokens.SqlTokenRepository.__init__ = unaudited  # type: ignore[method-assign]
    app = build(settings)
    if durability in {"sqlite-full", "pg-async"}:
        set_durability(app.engine, durability)
    now = datetime.now(UTC)
    tokens: list[str] = []
    amount = Money.parse("1000.00", "CNY")
    rows: list[tuple[VerificationSession, TokenRecord]] = []
    for i in range(n_tokens):
        ctx = ApplicationContext.create(applicant_id=f"bench-{i}", loan_application_id=f"L-{i}", amount=amount,
                                        device_id="d", client_ip="10.0.0.1", locale="en")
        session = VerificationSession(session_id=f"vs_bench{i}", reference=f"B{i:04d}-00000"[:11], context=ctx,
                                      status=Status.COMPLETED, required=(Factor.SMS_OTP,), created_at=now,
                                      expires_at=now + timedelta(minutes=15), completed_at=now)
        issued = app.issuer.issue(session_id=session.session_id, applicant_id=ctx.applicant_id,
                                  loan_application_id=ctx.loan_application_id, amount_value="1000.00",
                                  currency="CNY", payout_account="6222-01", factors=[Factor.SMS_OTP],
                                  pad_ran=False, now=now, ttl_s=TOKEN_TTL_S)
        rows.append((session, TokenRecord(jti=issued.jti, session_id=session.session_id,
                                          applicant_id=ctx.applicant_id, issued_at=now,
                                          expires_at=issued.expires_at)))
        tokens.append(issued.token)
    for start in range(0, n_tokens, SEED_BATCH):
        uow = app.verifications._uow()
        assert isinstance(uow, SqlUnitOfWork)
        with uow:
            for session, record in rows[start : start + SEED_BATCH]:
                uow.sessions.add(session, SessionSecrets(payout_account="6222-01"))
                uow.tokens.add(record)
    app.start()
    ready.put((app.grpc.port, {"loan_service": key}, tokens))
    stop.wait()
    app.stop(grace_s=2)


SEED_BATCH = 200
#: The longest lifetime the service issues (IDVERIFY_TOKEN_TTL_S at most 3600): the tokens are all issued before the
#: first round, and with the default 600 s the last rounds of a run on a slow host met expired tokens.
TOKEN_TTL_S = 3600
#: Settings of the RPC threads a run may override from its environment (the service's defaults otherwise).
THREAD_SETTINGS = ("IDVERIFY_GRPC_WORKERS", "IDVERIFY_GRPC_CONCURRENCY")
TRIVIAL_FACTOR = 3


def thread_overrides() -> dict[str, str]:
    return {k: os.environ[k] for k in THREAD_SETTINGS if k in os.environ}


def serve_bare(workers: int, ready: Any, stop: Any, concurrency: int = 0) -> None:
    """The baseline: a bare sync gRPC server (same thread count and message options as the service, no
    interceptor, no logging, no metrics) with one trivial unary method answering empty bytes, on a plain
    ``ThreadPoolExecutor``; with ``concurrency``, on the service's RPC executor instead (a check that the executor
    does not flatter the service by itself)."""
    from concurrent import futures

    from idverify.transport.rpc_executor import RpcExecutor

    def ping(request: bytes, context: Any) -> bytes:
        return b""

    executor: Any = RpcExecutor(workers, concurrency) if concurrency else futures.ThreadPoolExecutor(workers)
    run_raw_server("/bench.Bare/Ping", ping, executor, ready, stop)


def run_raw_server(path: str, handle: Callable[[bytes, Any], bytes], executor: Any, ready: Any, stop: Any) -> None:
    """Serve one unary method of raw bytes (no interceptor, logs or metrics; the service's message options) until
    ``stop``; the port goes to ``ready``."""
    import grpc

    service, method = path.strip("/").split("/")
    handler = grpc.method_handlers_generic_handler(service, {method: grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=None, response_serializer=None)})
    server = grpc.server(executor, handlers=(handler,),
                         options=[("grpc.max_receive_message_length", 8 * 1024 * 1024),
                                  ("grpc.max_send_message_length", 8 * 1024 * 1024)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    ready.put(port)
    stop.wait()
    server.stop(1)


def serve_floor(workers: int, backend: str, url: str, n_tokens: int, ready: Any, stop: Any) -> None:
    """The floor of any redemption in Python on this machine: a bare sync gRPC server (as ``serve_bare``) whose
    handler does only what every redemption must, with nothing of the service around it: one raw Ed25519 verify of
    a token-sized message (``cryptography``, as the service) and one transaction on the raw driver (sqlite3 with
    the service's WAL and synchronous=NORMAL and its one-writer lock): the single-use ``UPDATE ... RETURNING`` of a
    seeded token row and the INSERT of an audit row, committed; on PostgreSQL (psycopg, autocommit) both in one
    statement, a data-modifying ``WITH``, so a redemption is one round trip and its own transaction. No
    authentication, request parsing, claims, binding, freeze check, logging, metrics, MAC or hash chain. The
    request is the real RedeemTokenRequest's bytes, so the transport carries the same."""
    import itertools
    import sqlite3
    from concurrent import futures

    import psycopg
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public, message = key.public_key(), secrets.token_bytes(560)  # a token's signing input is ~560 bytes
    signature = key.sign(message)
    local, writer, counter = threading.local(), threading.Lock(), itertools.count()
    now = datetime.now(UTC).isoformat()
    update = ("UPDATE floor_tokens SET redeemed_at = {p}, redeemed_by = {p}, redemption_id = {p} "
              "WHERE jti = {p} AND redeemed_at IS NULL RETURNING jti, applicant_id, redeemed_at")
    audit = "INSERT INTO floor_audit (at, action, object_id, details) VALUES ({p}, {p}, {p}, {p})"
    if backend == "sqlite":
        update, audit = update.format(p="?"), audit.format(p="?")
        setup: Any = sqlite3.connect(url)
        setup.execute("PRAGMA journal_mode=WAL")
    else:  # one statement, one round trip: the redemption and its audit row
        update = ("WITH r AS (" + update.format(p="%s") + "), a AS (INSERT INTO floor_audit (at, action, object_id, "
                  "details) SELECT %s, %s, jti, %s FROM r) SELECT * FROM r")
        setup = psycopg.connect(url)
    serial = "INTEGER PRIMARY KEY" if backend == "sqlite" else "BIGSERIAL PRIMARY KEY"
    setup.execute("CREATE TABLE floor_tokens (jti TEXT PRIMARY KEY, applicant_id TEXT NOT NULL, redeemed_at TEXT, "
                  "redeemed_by TEXT, redemption_id TEXT)")
    setup.execute(f"CREATE TABLE floor_audit (seq {serial}, at TEXT, action TEXT, object_id TEXT, details TEXT)")
    insert = "INSERT INTO floor_tokens (jti, applicant_id) VALUES ({p}, {p})".format(
        p="?" if backend == "sqlite" else "%s")
    rows = [(f"jti-{i}", f"applicant-{i}") for i in range(n_tokens)]
    if backend == "sqlite":
        setup.executemany(insert, rows)
    else:
        setup.cursor().executemany(insert, rows)
    setup.commit()
    setup.close()

    def redeem(request: bytes, context: Any) -> bytes:
        public.verify(signature, message)
        i = next(counter)
        jti = f"jti-{i}"
        if backend == "sqlite":
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = sqlite3.connect(url, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA synchronous=NORMAL")
            with writer:
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(update, (now, "loan_service", f"rdm-{i}", jti)).fetchone()
                conn.execute(audit, (now, "token.redeemed", jti, '{"redemption_id":"rdm"}'))
                conn.execute("COMMIT")
        else:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = psycopg.connect(url, autocommit=True)
            with conn.cursor() as cur:
                cur.execute(update, (now, "loan_service", f"rdm-{i}", jti, now, "token.redeemed",
                                     '{"redemption_id":"rdm"}'))
                row = cur.fetchone()
        assert row is not None
        return b"ok"

    run_raw_server("/bench.Floor/Redeem", redeem, futures.ThreadPoolExecutor(workers), ready, stop)


def set_durability(engine: Any, durability: str) -> None:
    """Bench-only durability variants, so the two backends can also be compared at equal durability:
    ``sqlite-full`` fsyncs every commit like PostgreSQL's default; ``pg-async`` is PostgreSQL's
    ``synchronous_commit=off`` (a crash may lose the last fraction of a second of commits, like SQLite's NORMAL
    on power loss). The service's own settings are the rows without a variant."""
    from sqlalchemy import event

    statement = {"sqlite-full": "PRAGMA synchronous=FULL", "pg-async": "SET synchronous_commit = off"}[durability]

    @event.listens_for(engine, "connect")
    def _durability(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(statement)
        cur.close()
        if durability == "pg-async":
            dbapi_conn.commit()

    engine.dispose()


def run_clients(n_calls: int, clients: int, call: Callable[[int], object]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    counter = iter(range(n_calls))
    counter_lock = threading.Lock()

    def worker() -> None:
        local = []
        try:
            while not failures:  # once a call failed, the other clients stop at their next call
                with counter_lock:
                    i = next(counter, None)
                if i is None:
                    break
                t0 = time.perf_counter()
                call(i)
                local.append(time.perf_counter() - t0)
        except BaseException as exc:  # a failed call fails the run, after the other clients stop
            with lock:
                failures.append(exc)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        # A refused call must not count as a fast one: a run whose seeded tokens had expired once reported
        # 45,744 redemptions a second.
        raise RuntimeError(f"{len(failures)} client thread(s) failed; the first: {failures[0]!r}") from failures[0]
    return n_calls / (time.perf_counter() - start), latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pids: list[int], *, window_s: float = 0.5, quiet: float = 0.05, limit_s: float = 120.0) -> float:
    """Wait until the server processes are idle together (under ``quiet`` of a CPU over a ``window_s`` window):
    the audit sealers of servers that just served redemptions chain those entries for a while afterwards, and that
    work must not land on the next row, whichever server it measures. Returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(window_s)
        if sum(cpu_seconds(pid) for pid in pids) - before < quiet * window_s:
            break
    return time.perf_counter() - start


@dataclass(frozen=True)
class SplitRow:
    """One row's result over its processes: req/s over the whole row, every latency, server CPU per call (us), each
    process's own req/s, and the seconds spent waiting for the servers to be idle."""

    rps: float
    latencies: list[float]
    cpu_us: float
    each: list[float]
    settled_s: float


def run_split(targets: list[tuple[int, Callable[[int], object]]], calls: int, clients: int,
              idle_pids: list[int]) -> SplitRow:
    """``calls`` split evenly over ``targets`` (serving pid, call), one process after the other, each after every
    process in ``idle_pids`` is idle, with ``clients`` client threads."""
    share = calls // len(targets)
    seconds, cpu, settled = 0.0, 0.0, 0.0
    latencies: list[float] = []
    each: list[float] = []
    for pid, call in targets:
        settled += settle(idle_pids)
        cpu_before = cpu_seconds(pid)
        part_rps, part_lat = run_clients(share, clients, call)
        cpu += cpu_seconds(pid) - cpu_before
        seconds += share / part_rps
        latencies += part_lat
        each.append(part_rps)
    total = share * len(targets)
    return SplitRow(total / seconds, latencies, cpu / total * 1e6, each, settled)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


class Server:
    """One child process serving the real service on one database."""

    def __init__(self, ctx: Any, data_dir: str, url: str, durability: str, n_tokens: int) -> None:
        self.ready, self.stop = ctx.Queue(), ctx.Event()
        self.process = ctx.Process(target=serve, args=(data_dir, url, durability, n_tokens, self.ready, self.stop))
        self.process.start()
        self.pid: int = self.process.pid

    def connect(self) -> None:
        import grpc
        from grpc_health.v1 import health_pb2_grpc

        from idverify.api.v1 import token_pb2_grpc

        self.port, keys, self.tokens = self.ready.get(timeout=1800)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = token_pb2_grpc.TokenServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.md = [("x-api-key", keys["loan_service"])]

    def close(self) -> None:
        self.channel.close()
        self.stop.set()
        self.process.join(60)


def libpq_url(sqlalchemy_url: str) -> str:
    """The same database (and schema option) as a libpq URL, for the raw psycopg floor."""
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_schema(base: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


SQLITE_FULL = "SQLite synchronous=FULL (bench variant)"
PG_ASYNC = "PostgreSQL synchronous_commit=off (bench variant)"
#: Label -> durability variant ("" is the service as configured).
PG_NO_AUDIT = "PostgreSQL without the audit append (bench variant)"
BARE = "bare gRPC trivial unary (no interceptor, logs or metrics; separate processes)"
BARE_EXECUTOR = "bare gRPC trivial unary on the service's RPC executor (bench check)"
TRIVIAL = "GetJwks (authenticated, trivial, SQLite servers)"
FLOOR_SQ = "redemption floor, SQLite: bare gRPC + raw Ed25519 verify + raw sqlite3 UPDATE and INSERT (bench check)"
FLOOR_PG = "redemption floor, PostgreSQL: the same on raw psycopg, one statement (bench check)"
VARIANTS = {"SQLite": "", "PostgreSQL": "", SQLITE_FULL: "sqlite-full", PG_ASYNC: "pg-async",
            PG_NO_AUDIT: "no-audit"}
#: Processes behind each of the two bare rows, the health and trivial rows and the two RedeemToken rows of the
#: service as configured (calls split evenly across them).
REPLICAS = 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per row and round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rpc.md"))
    opts = parser.parse_args()
    pg_base = os.environ.get("IDVERIFY_TEST_POSTGRES_URL")
    if not pg_base:
        parser.error("set IDVERIFY_TEST_POSTGRES_URL to a PostgreSQL database the benchmark may add a schema to")

    import grpc
    from grpc_health.v1 import health_pb2

    from idverify.api.v1 import common_pb2, token_pb2

    n, per_server = opts.calls, opts.calls * opts.rounds
    ctx = mp.get_context("spawn")
    pg_url, drop_schema = postgres_schema(pg_base)
    pg_url2, drop_schema2 = postgres_schema(pg_base)
    pg_url3, drop_schema3 = postgres_schema(pg_base)
    pg_url4, drop_schema4 = postgres_schema(pg_base)
    pg_more = [postgres_schema(pg_base) for _ in range(1, REPLICAS)]
    samples: dict[str, list[tuple[float, list[float]]]] = {}
    rounds: list[dict[str, Any]] = []
    started = datetime.now(UTC)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dirs = {label: Path(tmp) / label for label in VARIANTS}
            for folder in dirs.values():
                folder.mkdir()
            urls = {"SQLite": f"sqlite+pysqlite:///{dirs['SQLite']}/idverify.db", "PostgreSQL": pg_url,
                    SQLITE_FULL: f"sqlite+pysqlite:///{dirs[SQLITE_FULL]}/idverify.db", PG_ASYNC: pg_url2,
                    PG_NO_AUDIT: pg_url3}
            servers = {label: Server(ctx, str(dirs[label]), urls[label], VARIANTS[label], per_server)
                       for label in VARIANTS}
            # More services as configured, on SQLite (for the health, trivial and SQLite RedeemToken rows) and on
            # PostgreSQL (schemas of their own), each with its own tokens.
            more_dirs = [Path(tmp) / f"{backend}-{k}" for backend in ("sqlite", "pg") for k in range(1, REPLICAS)]
            for folder in more_dirs:
                folder.mkdir()
            extra = [Server(ctx, str(folder), f"sqlite+pysqlite:///{folder}/idverify.db", "", per_server)
                     for folder in more_dirs[: REPLICAS - 1]]
            pg_extra = [Server(ctx, str(folder), url, "", per_server)
                        for folder, (url, _) in zip(more_dirs[REPLICAS - 1 :], pg_more, strict=True)]
            replicas = {"SQLite": [servers["SQLite"], *extra], "PostgreSQL": [servers["PostgreSQL"], *pg_extra]}
            threads = Settings.from_env(thread_overrides())
            bares = []
            for _ in range(REPLICAS):
                bare_ready, bare_stop = ctx.Queue(), ctx.Event()
                bare_process = ctx.Process(target=serve_bare, args=(threads.grpc_workers, bare_ready, bare_stop))
                bare_process.start()
                bares.append((bare_process, bare_ready, bare_stop))
            bare_exs = []
            for _ in range(REPLICAS):
                bare_ex_ready, bare_ex_stop = ctx.Queue(), ctx.Event()
                bare_ex_process = ctx.Process(target=serve_bare, args=(threads.grpc_workers, bare_ex_ready,
                                                                       bare_ex_stop, threads.grpc_concurrency))
                bare_ex_process.start()
                bare_exs.append((bare_ex_process, bare_ex_ready, bare_ex_stop))
            floors: dict[str, tuple[Any, Any, Any]] = {}
            for label, backend, url in ((FLOOR_SQ, "sqlite", str(Path(tmp) / "floor.db")),
                                        (FLOOR_PG, "postgresql", libpq_url(pg_url4))):
                f_ready, f_stop = ctx.Queue(), ctx.Event()
                f_process = ctx.Process(target=serve_floor, args=(threads.grpc_workers, backend, url,
                                                                  per_server + 200, f_ready, f_stop))
                f_process.start()
                floors[label] = (f_process, f_ready, f_stop)
            for server in [*servers.values(), *extra, *pg_extra]:
                server.connect()
            bare_channels = [grpc.insecure_channel(f"127.0.0.1:{ready.get(timeout=120)}") for _, ready, _ in bares]
            bare_channels += [grpc.insecure_channel(f"127.0.0.1:{ready.get(timeout=120)}") for _, ready, _ in bare_exs]
            pings = [channel.unary_unary("/bench.Bare/Ping") for channel in bare_channels]
            bare_pings, bare_ex_pings = pings[:REPLICAS], pings[REPLICAS:]
            floor_calls: dict[str, Any] = {}
            floor_channels = []
            for label, (_, f_ready, _) in floors.items():
                floor_channels.append(grpc.insecure_channel(f"127.0.0.1:{f_ready.get(timeout=300)}"))
                floor_calls[label] = floor_channels[-1].unary_unary("/bench.Floor/Redeem")
            for _ in range(200):
                for ping in pings:
                    ping(b"")
                for floor_call in floor_calls.values():
                    floor_call(b"")
            lite = servers["SQLite"]
            trivial_servers = [lite, *extra]
            for server in [*servers.values(), *extra, *pg_extra]:
                for _ in range(200):
                    server.stub.GetJwks(token_pb2.GetJwksRequest(), metadata=server.md)
            refused: dict[str, int] = {}
            all_pids = [*(process.pid for process, _, _ in [*bares, *bare_exs]),
                        *(server.pid for server in [*servers.values(), *extra, *pg_extra]),
                        *(f_process.pid for f_process, _, _ in floors.values())]
            server_cpu: dict[str, list[float]] = {}
            per_process: dict[str, list[list[float]]] = {}

            def redeemer(server: Server, offset: int) -> Callable[[int], object]:
                def redeem(i: int) -> object:
                    k = offset + i
                    return server.stub.RedeemToken(token_pb2.RedeemTokenRequest(
                        token=server.tokens[k], loan_application_id=f"L-{k}",
                        amount=common_pb2.Money(value="1000.00", currency="CNY"), payout_account="6222-01"),
                        metadata=server.md)
                return redeem

            def floor_redeemer(label: str, offset: int) -> Callable[[int], object]:
                call, tokens = floor_calls[label], lite.tokens

                def redeem(i: int) -> object:  # the same request bytes as the service's row gets
                    k = offset + i
                    return call(token_pb2.RedeemTokenRequest(
                        token=tokens[k], loan_application_id=f"L-{k}",
                        amount=common_pb2.Money(value="1000.00", currency="CNY"),
                        payout_account="6222-01").SerializeToString())
                return redeem

            for r in range(opts.rounds):
                offset = r * n
                rows: list[tuple[str, list[tuple[int, Callable[[int], object]]]]] = [
                    (BARE, [(process.pid, lambda i, ping=ping: ping(b""))
                            for (process, _, _), ping in zip(bares, bare_pings, strict=True)]),
                    (BARE_EXECUTOR, [(process.pid, lambda i, ping=ping: ping(b""))
                                     for (process, _, _), ping in zip(bare_exs, bare_ex_pings, strict=True)]),
                    ("grpc.health.v1 Check (unauthenticated, SQLite servers)",
                     [(server.pid, lambda i, server=server: server.health.Check(health_pb2.HealthCheckRequest()))
                      for server in trivial_servers]),
                    (TRIVIAL, [(server.pid, lambda i, server=server: server.stub.GetJwks(
                        token_pb2.GetJwksRequest(), metadata=server.md)) for server in trivial_servers]),
                    *((f"RedeemToken, {label}", [(server.pid, redeemer(server, offset))
                                                  for server in replicas.get(label, [servers[label]])])
                      for label in VARIANTS),
                    *((label, [(floors[label][0].pid, floor_redeemer(label, offset))]) for label in floors),
                ]
                if r % 2:
                    rows.reverse()
                record: dict[str, Any] = {"round": r + 1, "load": os.getloadavg()[0], "settle": 0.0}
                for name, targets in rows:
                    # The rows without a database (a few thousand calls a second) run TRIVIAL_FACTOR times the
                    # calls, so a row lasts about as long as a redemption row and a second of noise weighs less;
                    # a row on several processes splits its calls evenly across them, one after the other.
                    calls = n if name.startswith(("RedeemToken", "redemption floor")) else n * TRIVIAL_FACTOR
                    row = run_split(targets, calls, opts.clients, all_pids)
                    record["settle"] += row.settled_s
                    samples.setdefault(name, []).append((row.rps, row.latencies))
                    record[name] = row.rps
                    if len(row.each) > 1:
                        per_process.setdefault(name, []).append(row.each)
                    server_cpu.setdefault(name, []).append(row.cpu_us)
                rounds.append(record)
                rates = ", ".join(f"{k}={v:.0f}" for k, v in record.items() if k not in {"round", "load", "settle"})
                print(f"round {r + 1}: {rates}, load={record['load']:.2f}, settled {record['settle']:.1f} s",
                      flush=True)
            for label, server in servers.items():
                refused[label] = 0
                for i in range(20):  # second redemptions by another caller's binding must fail
                    try:
                        server.stub.RedeemToken(token_pb2.RedeemTokenRequest(
                            token=server.tokens[i], loan_application_id=f"L-{i}",
                            amount=common_pb2.Money(value="999.00", currency="CNY"), payout_account="6222-01"),
                            metadata=server.md)
                    except grpc.RpcError:
                        refused[label] += 1
            for server in [*servers.values(), *extra, *pg_extra]:
                server.close()
            for channel in bare_channels:
                channel.close()
            for process, _, stop in [*bares, *bare_exs]:
                stop.set()
                process.join(30)
            for channel in floor_channels:
                channel.close()
            for f_process, _, f_stop in floors.values():
                f_stop.set()
                f_process.join(30)
    finally:
        drop_schema()
        drop_schema2()
        drop_schema3()
        drop_schema4()
        for _, drop in pg_more:
            drop()

    def med(name: str, f: Callable[[tuple[float, list[float]]], float]) -> float:
        return statistics.median(f(s) for s in samples[name])

    def rate(name: str) -> float:
        return med(name, lambda s: s[0])

    names = list(samples)
    redeem_sq, redeem_pg, trivial = "RedeemToken, SQLite", "RedeemToken, PostgreSQL", TRIVIAL
    of_bare = {name: statistics.median(rd[name] / rd[BARE] for rd in rounds)
               for name in (TRIVIAL, redeem_sq, redeem_pg, BARE_EXECUTOR, FLOOR_SQ, FLOOR_PG)}
    of_floor = {name: statistics.median(rd[name] / rd[floor] for rd in rounds)
                for name, floor in ((redeem_sq, FLOOR_SQ), (redeem_pg, FLOOR_PG))}
    of_bare_ex = {name: statistics.median(rd[name] / rd[BARE_EXECUTOR] for rd in rounds)
                  for name in (TRIVIAL, redeem_sq, redeem_pg)}
    trivial_rounds = [rd[TRIVIAL] / rd[BARE] for rd in rounds]
    ratios = [rd[redeem_pg] / rd[redeem_sq] for rd in rounds]
    fsync_ratios = [rd[redeem_pg] / rd[f"RedeemToken, {SQLITE_FULL}"] for rd in rounds]
    async_ratios = [rd[f"RedeemToken, {PG_ASYNC}"] / rd[redeem_sq] for rd in rounds]
    audit_share = [rd[redeem_pg] / rd[f"RedeemToken, {PG_NO_AUDIT}"] for rd in rounds]
    lines = [
        "# RPC throughput: RedeemToken on SQLite and PostgreSQL, beside a trivial RPC",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, "
        f"{_cpu_model()}; Python {platform.python_version()}",
        "- load average (1 min) before each round: " + ", ".join(f"{rd['load']:.2f}" for rd in rounds),
        "- before every row the bench waits until all server processes are idle together (under 5% of a CPU over "
        "half a second), so no row pays for another's leftovers (the audit sealers chain the entries of a "
        "redemption row for a while after it); waits per round: "
        + ", ".join(f"{rd['settle']:.1f} s" for rd in rounds),
        "- server CPU per call: user + system time of the serving process over the row (/proc), all its threads "
        "(gRPC, RPC workers, the audit sealer) divided by the calls",
        f"- servers: the real service (`app.build`, sync gRPC, {threads.grpc_workers} RPC threads of which "
        f"{threads.grpc_concurrency} run at once, audit sealer on), one per row: "
        "SQLite WAL (synchronous=NORMAL, the service's setting) in a temporary folder, the local PostgreSQL 15 "
        "(stock settings) in a schema of its own, and the three bench-only variants; all running "
        "throughout",
        f"- {opts.clients} client threads in the parent process; {n} calls per RedeemToken row and "
        f"{n * TRIVIAL_FACTOR} per row of the others, per round; {opts.rounds} rounds, "
        "the row order reversed every other round; command: "
        "`IDVERIFY_TEST_POSTGRES_URL=... .venv/bin/python bench/bench_rpc.py`",
        "",
        "Medians over rounds:",
        "",
        "| RPC | req/s | p50 (ms) | p99 (ms) | server CPU per call (us) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in names:
        lines.append(f"| {name} | {med(name, lambda s: s[0]):,.0f} | {med(name, lambda s: pct(s[1], 50)):.2f} | "
                     f"{med(name, lambda s: pct(s[1], 99)):.2f} | {statistics.median(server_cpu[name]):,.0f} |")
    lines += ["", "Every round (req/s):", "", "| round | load | " + " | ".join(names) + " | PG / SQLite |",
              "|---|---:|" + "---:|" * len(names) + "---:|"]
    for rd, ratio in zip(rounds, ratios, strict=True):
        lines.append(f"| {rd['round']} | {rd['load']:.2f} | " + " | ".join(f"{rd[k]:,.0f}" for k in names)
                     + f" | {ratio:.2f} |")
    lines += [
        "",
        f"- RedeemToken PostgreSQL / SQLite, both as the service configures them: median "
        f"**{statistics.median(ratios):.2f}** (rounds {min(ratios):.2f}-{max(ratios):.2f}); target >= 1.0.",
        f"- At equal durability: PostgreSQL / SQLite synchronous=FULL (both fsync each commit) median "
        f"**{statistics.median(fsync_ratios):.2f}**; PostgreSQL synchronous_commit=off / SQLite (neither waits "
        f"for the disk) median **{statistics.median(async_ratios):.2f}**.",
        f"- PostgreSQL with the audit append / without it: median **{statistics.median(audit_share):.2f}** "
        f"(rounds {min(audit_share):.2f}-{max(audit_share):.2f}).",
        f"- RedeemToken / trivial authenticated RPC: SQLite {rate(redeem_sq) / rate(trivial):.2f}, "
        f"PostgreSQL {rate(redeem_pg) / rate(trivial):.2f}.",
        f"- Against the bare gRPC server's trivial unary (baseline, per round, median): the authenticated trivial RPC "
        f"**{of_bare[TRIVIAL]:.2f}x** (rounds {min(trivial_rounds):.2f}-{max(trivial_rounds):.2f}; target >= 0.8), "
        f"RedeemToken SQLite **{of_bare[redeem_sq]:.2f}x**, PostgreSQL **{of_bare[redeem_pg]:.2f}x** (target >= 0.5 "
        "each). The service logs one INFO line per RPC (to /dev/null here), records its metrics and reads its callers' "
        "API keys from a keys file, as users run it.",
        f"- The redemption floor (a bare gRPC server doing only a raw Ed25519 verify and the raw single-use UPDATE and "
        f"audit INSERT, committed: no authentication, parsing, claims, freeze check, logging, metrics, MAC or chain), "
        f"against the bare server: SQLite **{of_bare[FLOOR_SQ]:.2f}x**, PostgreSQL **{of_bare[FLOOR_PG]:.2f}x**. "
        f"The service's RedeemToken against that floor: SQLite {of_floor[redeem_sq]:.2f}x, PostgreSQL "
        f"{of_floor[redeem_pg]:.2f}x.",
        f"- The bare server on the service's RPC executor instead of a plain thread pool: "
        f"{of_bare[BARE_EXECUTOR]:.2f}x of the plain one; against it, the trivial RPC {of_bare_ex[TRIVIAL]:.2f}x, "
        f"RedeemToken SQLite {of_bare_ex[redeem_sq]:.2f}x, PostgreSQL {of_bare_ex[redeem_pg]:.2f}x.",
        "- Each process of a replicated row, median over rounds (req/s): " + "; ".join(
            f"{name.split(' (')[0]}: " + ", ".join(f"{statistics.median(col):,.0f}" for col in zip(*got, strict=True))
            for name, got in per_process.items()) + ".",
        f"- A redeemed token presented again with another amount: refused {refused['SQLite']} of 20 (SQLite), "
        f"{refused['PostgreSQL']} of 20 (PostgreSQL).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(opts.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
