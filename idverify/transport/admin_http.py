"""The admin HTTP port: Prometheus ``/metrics``, the JWKS at ``/.well-known/jwks.json`` and ``/healthz``.

Kept off the gRPC port so scraping and key fetching never compete with RPCs and can be exposed separately.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

JWKS_MAX_AGE_S = 300


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that answers with :meth:`send` and writes no per-request log line."""

    def send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request logs
        return


class BackgroundHttpServer:
    """A threading HTTP server on ``(host, port)`` run by a daemon thread between :meth:`start` and :meth:`stop`."""

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="admin-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class AdminHttpServer(BackgroundHttpServer):
    def __init__(self, address: str, jwks: Callable[[], dict[str, Any]], ready: Callable[[], bool],
                 capabilities: dict[str, str] | None = None) -> None:
        host, _, port = address.rpartition(":")
        jwks_source, ready_check, details = jwks, ready, dict(capabilities or {})

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self.send(200, generate_latest(REGISTRY), {"Content-Type": CONTENT_TYPE_LATEST})
                elif self.path == "/.well-known/jwks.json":
                    body = json.dumps(jwks_source(), separators=(",", ":")).encode()
                    self.send(200, body, {"Content-Type": "application/jwk-set+json",
                                          "Cache-Control": f"public, max-age={JWKS_MAX_AGE_S}"})
                elif self.path == "/healthz":
                    ok = ready_check()
                    body = json.dumps({"status": "serving" if ok else "not_serving", **details}).encode()
                    self.send(200 if ok else 503, body, {"Content-Type": "application/json"})
                else:
                    self.send(404, b"not found\n", {"Content-Type": "text/plain"})

        super().__init__(host.strip("[]"), int(port), Handler)
