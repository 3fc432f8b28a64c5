"""The ``idverify`` command: run the service, manage its database, keys and models, and act as a client.

``idverify serve`` is the entry point that reads ``os.environ``; everything else receives plain values.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from idverify import __version__


def _serve(args: argparse.Namespace) -> int:
    from idverify import logging_setup
    from idverify.app import build
    from idverify.config import ConfigError, Settings

    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"idverify: configuration error: {exc}", file=sys.stderr)
        return 2
    logging_setup.configure(settings.log_level, settings.log_format)
    try:
        app = build(settings)
    except ConfigError as exc:
        print(f"idverify: configuration error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    app.start()
    print(f"idverify {__version__} serving gRPC on port {app.grpc.port}, admin HTTP on port {app.admin.port}",
          file=sys.stderr, flush=True)
    stop.wait()
    app.stop(grace_s=args.grace)
    return 0


def _db(args: argparse.Namespace) -> int:
    from idverify.config import Settings
    from idverify.storage import migrate
    from idverify.storage.engine import make_engine

    settings = Settings.from_env(os.environ)
    engine = make_engine(settings.database_url)
    if args.db_command == "upgrade":
        migrate.upgrade(engine)
        print(f"database at revision {migrate.current_revision(engine)}")
        return 0
    current, head = migrate.current_revision(engine), migrate.head_revision()
    print(f"current revision: {current}; latest: {head}")
    return 0 if current == head else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idverify", description="Identity verification for consumer lending.")
    parser.add_argument("--version", action="version", version=f"idverify {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC service (configured by IDVERIFY_* variables)")
    serve.add_argument("--grace", type=float, default=10.0, help="seconds in-flight RPCs get on shutdown")
    serve.set_defaults(func=_serve)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("db_command", choices=["upgrade", "check"])
    db.set_defaults(func=_db)

    from idverify import cli_client

    cli_client.register(sub)
    for module in ("idverify.tokens.cli", "idverify.ml.models_cli", "idverify.ml.pad.build"):
        try:
            registered = __import__(module, fromlist=["register"])
        except ImportError:
            continue
        if hasattr(registered, "register"):
            registered.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "func", None) or args.handler
    return int(run(args) or 0)
