"""A small JSON-over-HTTP server on the standard library, for the demo's two HTTP parties.

Routes map ``(method, path)`` to a handler taking the decoded JSON body and returning ``(status, body)``.
A handler raises :class:`HttpError` for a refusal the browser should show. Request bodies are capped; nothing of a
request body is logged.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

JsonBody = dict[str, Any]
Handler = Callable[[JsonBody], tuple[int, JsonBody]]

MAX_BODY_BYTES = 16 * 1024 * 1024


class HttpError(Exception):
    """A refusal with a stable ``reason`` code and a message for the browser (already in the right language)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message = message


class JsonServer:
    """A threading HTTP server with JSON routes and, optionally, a folder of static files under ``/``."""

    def __init__(self, address: tuple[str, int], routes: Mapping[tuple[str, str], Handler],
                 static_dir: Path | None = None) -> None:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return  # request lines could carry identifiers; the demo keeps its console quiet

            def do_GET(self) -> None:
                server._dispatch(self, "GET")

            def do_POST(self) -> None:
                server._dispatch(self, "POST")

        self._routes = dict(routes)
        self._static = static_dir.resolve() if static_dir else None
        self._httpd = ThreadingHTTPServer(address, RequestHandler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="demo-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _dispatch(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = request.path.split("?", 1)[0]
        handler = self._routes.get((method, path))
        if handler is None:
            if method == "GET" and self._static is not None:
                self._send_static(request, path)
                return
            self._send_json(request, 404, {"reason": "not_found", "message": "not found"})
            return
        try:
            body = self._read_body(request) if method == "POST" else {}
            status, answer = handler(body)
        except HttpError as exc:
            status, answer = exc.status, {"reason": exc.reason, "message": exc.message}
        self._send_json(request, status, answer)

    @staticmethod
    def _read_body(request: BaseHTTPRequestHandler) -> JsonBody:
        try:
            length = int(request.headers.get("Content-Length", "0"))
        except ValueError:
            raise HttpError(400, "bad_request", "invalid Content-Length") from None
        if length > MAX_BODY_BYTES:
            raise HttpError(413, "request_too_large", "request too large")
        raw = request.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise HttpError(400, "bad_request", "the body must be JSON") from None
        if not isinstance(body, dict):
            raise HttpError(400, "bad_request", "the body must be a JSON object")
        return body

    @staticmethod
    def _send_json(request: BaseHTTPRequestHandler, status: int, body: JsonBody) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        request.wfile.write(data)

    def _send_static(self, request: BaseHTTPRequestHandler, path: str) -> None:
        assert self._static is not None
        target = (self._static / (path.lstrip("/") or "index.html")).resolve()
        if not target.is_relative_to(self._static) or not target.is_file():
            self._send_json(request, 404, {"reason": "not_found", "message": "not found"})
            return
        data = target.read_bytes()
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        request.send_response(200)
        request.send_header("Content-Type", kind + ("; charset=utf-8" if kind.startswith("text/") or
                                                    kind.endswith("javascript") else ""))
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Cache-Control", "no-store")
        # The page needs only itself: no third-party script, frame or connection.
        request.send_header("Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:")
        request.end_headers()
        request.wfile.write(data)
