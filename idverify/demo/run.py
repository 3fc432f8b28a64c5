"""``idverify demo``: idverify, the demo app backend with the capture page, and the simulated loan service.

Everything listens on 127.0.0.1 and keeps its state under ``--data-dir`` (SQLite, development secrets and API
keys, the SMS outbox). Development only: ``IDVERIFY_ENV=production`` is refused.

``--fake-camera`` is for the browser test, whose camera is Chromium's fake device playing a video composited from
still photographs (:data:`FAKE_CAMERA`): the head-turn threshold goes down to 0.125 (the least the centre band of
0.12 allows; the most turned faces in those photographs reach an image yaw of 0.13-0.18 in a 640x480 frame) and
the challenge budget is raised (the test asks again until it gets a challenge its photos can answer). Every other
check runs as configured. See docs/demo.md for what that run does and does not prove.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from idverify.demo.backend import AppBackend, serve_backend
from idverify.demo.http_json import JsonServer
from idverify.demo.loan_service import LoanService, http_client, serve_loan_service

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: What ``--fake-camera`` changes, and why: the turned faces of still portraits reach 0.13-0.18; the test asks for
#: challenges until one its photos can answer.
FAKE_CAMERA = {"IDVERIFY_LIVENESS_TURN_YAW": "0.125", "IDVERIFY_LIVENESS_CHALLENGES_PER_VERIFICATION": "100",
               "IDVERIFY_LIVENESS_CHALLENGES_PER_HOUR": "1000"}


class DemoRefused(Exception):
    """The demo cannot run with these settings (production, or no development API keys)."""


@dataclass
class Demo:
    """The three running parties; ``stop`` ends them in reverse order."""

    app: Any
    channel: grpc.Channel
    loan: JsonServer
    backend: JsonServer

    @property
    def url(self) -> str:
        return self.backend.url + "/"

    def stop(self) -> None:
        self.backend.stop()
        self.loan.stop()
        self.channel.close()
        self.app.stop(grace_s=1)


def demo_environment(env: Mapping[str, str], data_dir: Path, *, fake_camera: bool) -> dict[str, str]:
    """The idverify settings of the demo: the caller's environment over the embedded defaults."""
    merged = {"IDVERIFY_DATA_DIR": str(data_dir), "IDVERIFY_GRPC_ADDRESS": "127.0.0.1:0",
              "IDVERIFY_ADMIN_ADDRESS": "127.0.0.1:0", "IDVERIFY_LOG_LEVEL": "WARNING",
              "IDVERIFY_SMS_OUTBOX_FILE": str(data_dir / "sms-outbox.jsonl")}
    merged.update({k: v for k, v in env.items() if k.startswith("IDVERIFY_") and k != "IDVERIFY_DATA_DIR"})
    if merged.get("IDVERIFY_ENV", "development") == "production":
        raise DemoRefused("the demo is for development only (IDVERIFY_ENV=production refused)")
    if fake_camera:
        merged.update(FAKE_CAMERA)
    return merged


def start_demo(env: Mapping[str, str], data_dir: Path, *, port: int = 0, fake_camera: bool = False,
               show_codes: bool = True, pose_log: Path | None = None) -> Demo:
    """Start idverify in process, then the loan service, then the app backend with the capture page."""
    from idverify.app import build, default_models_dir
    from idverify.client.verifier import TokenVerifier
    from idverify.config import Settings

    settings = Settings.from_env(demo_environment(env, data_dir, fake_camera=fake_camera))
    app = build(settings)
    keys_file = settings.data_dir / "dev-api-keys.toml"
    if not keys_file.exists():
        raise DemoRefused(f"no development API keys in {keys_file} (the demo needs IDVERIFY_API_KEYS unset)")
    keys = tomllib.loads(keys_file.read_text(encoding="utf-8"))
    app.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    jwks = f"http://127.0.0.1:{app.admin.port}/.well-known/jwks.json"
    verifier = TokenVerifier(jwks, settings.token_issuer, settings.token_audiences[0])
    loan = serve_loan_service(LoanService(channel, keys["loan_service"], verifier))
    recorder = None
    if pose_log is not None:
        from idverify.demo.pose_log import PoseRecorder
        from idverify.ml.pipeline import FacePipeline

        recorder = PoseRecorder(FacePipeline.from_models_dir(settings.models_dir or default_models_dir(),
                                                             threads=1), pose_log)
    backend = AppBackend(channel, keys["app_backend"], loan_service=http_client(loan.url + "/disburse"),
                         outbox_file=settings.sms_outbox_file if show_codes else None, observe_poses=recorder)
    return Demo(app, channel, loan, serve_backend(backend, STATIC_DIR, port))


def _run(args: argparse.Namespace) -> int:
    from idverify import logging_setup
    from idverify.config import ConfigError

    logging_setup.configure("WARNING", "console")
    try:
        demo = start_demo(os.environ, args.data_dir, port=args.port, fake_camera=args.fake_camera,
                          show_codes=not args.hide_codes, pose_log=args.record_poses)
    except (DemoRefused, ConfigError) as exc:
        print(f"idverify demo: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"idverify demo: open {demo.url} (idverify gRPC on port {demo.app.grpc.port}, "
          f"loan service {demo.loan.url}); Ctrl-C stops it", file=sys.stderr, flush=True)
    stop.wait()
    demo.stop()
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="try the face factors in a browser (development only)")
    parser.add_argument("--port", type=int, default=8765, help="the capture page's port on 127.0.0.1 (0: any)")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="state of the demo's idverify")
    parser.add_argument("--hide-codes", action="store_true", help="do not show SMS codes on the page")
    parser.add_argument("--record-poses", type=Path, default=None, metavar="FILE",
                        help="append head-pose figures of consented attempts to FILE (JSON lines)")
    parser.add_argument("--fake-camera", action="store_true",
                        help="development only: relax the checks a fake camera fed still photos cannot pass (tests)")
    parser.set_defaults(func=_run)
