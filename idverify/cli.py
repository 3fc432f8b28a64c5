"""The ``idverify`` command: run the service, manage its database, keys and models, and act as a client.

``idverify serve`` is the entry point that reads ``os.environ``; everything else receives plain values.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from idverify import __version__

if TYPE_CHECKING:
    from idverify.config import Settings


def _serve(args: argparse.Namespace) -> int:
    from idverify import logging_setup
    from idverify.config import ConfigError, Settings

    env = dict(os.environ)
    if args.workers is not None:
        env["IDVERIFY_WORKERS"] = str(args.workers)
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        print(f"idverify: configuration error: {exc}", file=sys.stderr)
        return 2
    logging_setup.configure(settings.log_level, settings.log_format)
    if settings.workers > 1 and args.worker_index is None:
        return _supervise(args, settings, env)
    from idverify.ml.native_memory import tune_malloc

    tune_malloc(env)  # before any model or RPC thread: ~75 MB less peak RSS (idverify/ml/native_memory.py)
    from idverify.app import build

    try:
        app = build(settings)
    except ConfigError as exc:
        print(f"idverify: configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # only the recognised start-up problems become one line; the rest is re-raised
        problem = startup_problem(exc, settings)
        if problem is None:
            raise
        print(f"idverify: configuration error: {problem}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    app.start()
    if args.worker_index is not None:  # one of `serve --workers N`: the parent announces the service
        from idverify.transport.workers import announce_ready, watch_parent

        watch_parent(args.parent_fd, stop.set)
        announce_ready(args.worker_ready_file, index=args.worker_index, grpc_port=app.grpc.port,
                       admin_port=app.admin.port)
    else:
        print(f"idverify {__version__} serving gRPC on port {app.grpc.port}, admin HTTP on port {app.admin.port}",
              file=sys.stderr, flush=True)
    stop.wait()
    app.stop(grace_s=args.grace)
    if args.worker_index is not None:
        # Drained and stopped: leave now. A warm-up thread still loading a model (the OCR warm-up is not a daemon)
        # would otherwise hold the exit past the supervisor's kill deadline and turn a clean drain into a failure.
        import logging

        from idverify.logging_setup import rpc_line

        rpc_line.flush()  # os._exit skips atexit: the queued RPC lines go out here
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _raised_in(exc: BaseException, package: str) -> bool:
    """True when the exception came out of ``package``'s code (a missing DBAPI driver raised inside SQLAlchemy)."""
    tb = exc.__traceback__
    while tb is not None:
        if f"/{package}/" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def startup_problem(exc: BaseException, settings: Settings) -> str | None:
    """One line naming the variable for what stops the start-up: a listen address (``listen_problem``), a database
    URL SQLAlchemy cannot use or reach, a data folder that cannot be created. None for anything else (a bug).
    The database URL itself is never printed: it may hold a password."""
    problem = listen_problem(exc, settings.grpc_address, settings.admin_address)
    if problem is not None:
        return problem
    if type(exc).__module__.split(".")[0] in {"sqlalchemy", "psycopg", "alembic"} or _raised_in(exc, "sqlalchemy"):
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return (f"IDVERIFY_DATABASE_URL cannot be used ({type(exc).__name__}: {first}); accepted: "
                "sqlite+pysqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DATABASE, reachable at start-up")
    if isinstance(exc, OSError) and exc.filename and Path(str(exc.filename)).is_relative_to(settings.data_dir):
        return (f"IDVERIFY_DATA_DIR={settings.data_dir}: {exc.strerror}: {exc.filename}; accepted: a folder this "
                "user can create and write")
    return None


def listen_problem(exc: BaseException, grpc_address: str, admin_address: str) -> str | None:
    """The one-line message for a listen address that cannot be bound, naming its variable; None for anything else.

    grpcio reports a failed bind as RuntimeError("Failed to bind ..."), the server as OSError("cannot listen on
    ..."); the admin HTTP server's socket raises OSError with an errno.
    """
    accepted = "accepted: HOST:PORT of a free port on this machine, e.g. 127.0.0.1:50051"
    text = str(exc)
    if "bind" in text.lower() or "cannot listen on" in text:
        return f"IDVERIFY_GRPC_ADDRESS={grpc_address}: cannot listen there (in use or not this machine's); {accepted}"
    if isinstance(exc, OSError) and exc.errno in {errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES}:
        return (f"IDVERIFY_ADMIN_ADDRESS={admin_address}: cannot listen there ({exc.strerror}); "
                f"{accepted.replace('50051', '9464')}")
    return None


def _supervise(args: argparse.Namespace, settings: Settings, env: dict[str, str]) -> int:
    """`serve --workers N`: prepare once (secrets, keys, migrations), then run N workers on one port."""
    from idverify.app import prepare_workers
    from idverify.config import ConfigError
    from idverify.transport.workers import supervise

    try:
        prepare_workers(settings)
    except ConfigError as exc:
        print(f"idverify: configuration error: {exc}", file=sys.stderr)
        return 2
    return supervise(settings.workers, env=env, grpc_address=settings.grpc_address,
                     admin_address=settings.admin_address, grace_s=args.grace, version=__version__)


def _db(args: argparse.Namespace) -> int:
    from idverify.config import Settings
    from idverify.storage import migrate
    from idverify.storage.engine import ensure_sqlite_folder, make_engine

    settings = Settings.from_env(os.environ)
    ensure_sqlite_folder(settings.database_url)
    engine = make_engine(settings.database_url)
    if args.db_command == "upgrade":
        migrate.upgrade(engine)
        print(f"database at revision {migrate.current_revision(engine)}")
        return 0
    current, head = migrate.current_revision(engine), migrate.head_revision()
    print(f"current revision: {current}; latest: {head}")
    return 0 if current == head else 1


#: What `idverify retention run` deletes, beyond the privacy package's defaults (table, column, minutes): session
#: face templates a minute past their expiry (itself 30 minutes after the session's), liveness challenges a day
#: after their deadline, liveness capture records (colours, capture key) a minute past their expiry.
SERVICE_RETENTION = (("session_faces", "expires_at", 1), ("liveness_challenges", "deadline", 24 * 60),
                     ("staff_sessions", "expires_at", 24 * 60), ("liveness_captures", "expires_at", 1))


def _retention(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from idverify.config import Settings
    from idverify.privacy.retention import DEFAULT_POLICIES, RetentionPolicy, purge_expired
    from idverify.storage.engine import ensure_sqlite_folder, make_engine
    from idverify.storage.tables import metadata

    settings = Settings.from_env(os.environ)
    ensure_sqlite_folder(settings.database_url)
    policies = (*DEFAULT_POLICIES, *(RetentionPolicy(t, c, timedelta(minutes=m)) for t, c, m in SERVICE_RETENTION))
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        deleted = purge_expired(conn, metadata, policies, datetime.now(UTC))
    for table, count in sorted(deleted.items()):
        print(f"{table}: {count} deleted")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from idverify import logging_setup
    from idverify.app import audit_tools
    from idverify.audit import read_exported
    from idverify.audit.report import describe
    from idverify.config import Settings

    settings = Settings.from_env(os.environ)
    logging_setup.configure(settings.log_level, settings.log_format)  # `seal` exports its checkpoints there
    log, sealer, engine, public_keys = audit_tools(settings)
    if args.audit_command == "seal":
        print(f"sealed {sealer.drain()} entries")
        return 0
    exported = [cp for path in args.checkpoints or () for cp in read_exported(Path(path))]
    report = log.verify(engine, public_keys, exported)
    print(describe(report))
    return 0 if report.ok else 1


def _console(args: argparse.Namespace) -> int:
    from idverify.console.server import run

    return run(os.environ)


def build_parser(*, client_only: bool = False) -> argparse.ArgumentParser:
    """The whole command line; ``client_only`` skips importing the other commands' modules (some load onnx or
    SQLAlchemy), so `idverify client ...` starts in a fraction of the time."""
    parser = argparse.ArgumentParser(prog="idverify", description="Identity verification for consumer lending.")
    parser.add_argument("--version", action="version", version=f"idverify {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC service (configured by IDVERIFY_* variables)")
    serve.add_argument("--grace", type=float, default=10.0, help="seconds in-flight RPCs get on shutdown")
    serve.add_argument("--workers", type=int, default=None, metavar="N",
                       help="serving processes sharing the gRPC port (default IDVERIFY_WORKERS, else one per core)")
    serve.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--worker-ready-file", type=Path, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--parent-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("db_command", choices=["upgrade", "check"])
    db.set_defaults(func=_db)

    retention = sub.add_parser("retention", help="delete data past its retention period")
    retention.add_argument("retention_command", choices=["run"])
    retention.set_defaults(func=_retention)
    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    audit.add_argument("audit_command", choices=["verify", "seal"],
                       help="verify: check every entry, link and checkpoint; seal: chain what is waiting now")
    audit.add_argument("--checkpoints", action="append", metavar="LOG_FILE",
                       help="log file(s) holding exported audit_checkpoint lines to check the chain against")
    audit.set_defaults(func=_audit_verify)
    console = sub.add_parser("console", help="run the staff console web app (IDVERIFY_CONSOLE_* variables); it "
                                             "holds no key: staff sign in with their own key and authenticator")
    console.set_defaults(func=_console)

    from idverify import cli_client

    cli_client.register(sub)
    if client_only:
        return parser
    for module in ("idverify.tokens.cli", "idverify.ml.models_cli", "idverify.ml.pad.build", "idverify.demo.run",
                   "idverify.cli_face", "idverify.outbox.cli"):
        try:
            registered = __import__(module, fromlist=["register"])
        except ImportError:
            continue
        if hasattr(registered, "register"):
            registered.register(sub)
    return parser


def take_json_flag(argv: Sequence[str]) -> tuple[bool, list[str]]:
    """``--json`` may stand anywhere before a ``--``: take it out so each sub-parser need not know it."""
    end = list(argv).index("--") if "--" in argv else len(argv)
    head, tail = list(argv[:end]), list(argv[end:])
    return "--json" in head, [a for a in head if a != "--json"] + tail


def main(argv: Sequence[str] | None = None) -> int:
    from idverify.config import ConfigError

    want_json, rest = take_json_flag(sys.argv[1:] if argv is None else argv)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Modules create their metrics at import, and in multiprocess mode that opens files in this folder.
        Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    parser = build_parser(client_only=rest[:1] == ["client"])
    args = parser.parse_args(rest)
    if want_json or not hasattr(args, "json"):
        args.json = want_json
    run = getattr(args, "func", None) or args.handler
    try:
        return int(run(args) or 0)
    except ConfigError as exc:  # a bad IDVERIFY_* variable in any command: the message names it
        print(f"idverify: configuration error: {exc}", file=sys.stderr)
        return 2
