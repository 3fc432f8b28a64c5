"""`idverify console`: the console's own process (uvicorn), talking to the service over gRPC."""

from __future__ import annotations

import signal
import socket
import sys
import threading
from collections.abc import Mapping
from datetime import timedelta

import grpc
import uvicorn
from starlette.applications import Starlette

from idverify.console.service import ServiceClient
from idverify.console.sessions import SessionStore
from idverify.console.settings import ConfigError, ConsoleSettings
from idverify.console.web import ConsoleConfig, build_app


def service_channel(settings: ConsoleSettings) -> grpc.Channel:
    if settings.service_ca_file is not None:
        credentials = grpc.ssl_channel_credentials(settings.service_ca_file.read_bytes())
        return grpc.secure_channel(settings.service_target, credentials)
    return grpc.insecure_channel(settings.service_target)


def console_app(settings: ConsoleSettings, channel: grpc.Channel) -> Starlette:
    return build_app(ServiceClient(channel), SessionStore(idle=timedelta(seconds=settings.idle_s)),
                     ConsoleConfig(secure_cookies=settings.https))


class ConsoleServer:
    """Uvicorn on an already bound socket (port 0 gives an ephemeral port), in a thread; ``stop`` ends it."""

    def __init__(self, app: Starlette, settings: ConsoleSettings) -> None:
        host, port = settings.host_port
        self.socket = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        # Accepted connections inherit this on Linux: without it a response written in two parts waits for the
        # browser's delayed ACK (about 40 ms a page, measured with bench/bench_console.py).
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                ssl_certfile=str(settings.tls_cert_file) if settings.tls_cert_file else None,
                                ssl_keyfile=str(settings.tls_key_file) if settings.tls_key_file else None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.socket]}, daemon=True,
                                        name="console-http")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.socket.close()


def run(env: Mapping[str, str]) -> int:
    try:
        settings = ConsoleSettings.from_env(env)
    except ConfigError as exc:
        print(f"idverify console: configuration error: {exc}", file=sys.stderr)
        return 2
    channel = service_channel(settings)
    server = ConsoleServer(console_app(settings, channel), settings)
    print(f"idverify console on {'https' if settings.https else 'http'}://{settings.host_port[0]}:{server.port}/ "
          f"(service {settings.service_target})", file=sys.stderr, flush=True)
    # uvicorn drains on SIGINT/SIGTERM, then re-raises the signal for the handler that was there before it: this
    # one, so a requested stop exits 0 as `idverify serve` does.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: None)
    try:
        server._server.run(sockets=[server.socket])
    finally:
        channel.close()
    return 0
