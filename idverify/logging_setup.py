"""Structured logs (structlog, JSON lines by default) with a redaction step that backs up the rule that personal
data, secrets, codes, tokens, images and embeddings never reach logs.

The redactor is precise rather than blunt, so logs still say what operators need:

- the values of sensitive keys are dropped wherever they appear, nested mappings and lists included. ``code`` is
  such a key (a one-time code) *unless* its value is a gRPC status name, which is what the RPC line logs;
- inside any other string, long digit runs (phone and ID numbers), standalone 6-8 digit runs (one-time codes) and
  JWS compact tokens are masked; ISO timestamps, hex hashes and ids survive (their digits touch letters);
- bytes become their length.

``configure`` binds nothing itself: the RPC interceptor sets ``request_id``, ``rpc`` and ``caller`` in
``REQUEST_FIELDS`` for the duration of a request, so every line logged while serving it carries them, including
lines from the standard library's ``logging`` (keys bound with ``structlog.contextvars`` are merged too).
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO, cast

import orjson
import structlog

SENSITIVE_KEYS = frozenset({
    "phone", "phone_e164", "phone_number", "to", "code", "otp", "otp_code", "token", "jwt", "secret", "password",
    "api_key", "key", "image", "images", "frame", "frames", "photo", "selfie", "embedding", "template", "id_number",
    "document_number", "name", "full_name", "payout_account", "authorization", "private_key", "body",
    "provisioning_uri", "x-api-key",
})
#: gRPC status names: the only values a ``code`` key may show (the RPC line's status, not a one-time code).
STATUS_NAMES = frozenset({
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
})
#: Keys whose values are produced by the logging pipeline itself, never by callers.
_PIPELINE_KEYS = frozenset({"timestamp", "level", "request_id", "logger"})
_DIGITS = re.compile(r"(?<![0-9A-Za-z])\+?\d[\d -]{5,}\d[Xx]?(?![0-9A-Za-z])")
_SHORT_CODE = re.compile(r"(?<![0-9A-Za-z.])\d{6,8}(?![0-9A-Za-z])")
#: A calendar date (YYYY-MM-DD or YYYY-MM) is not a phone number: ISO timestamps stay readable.
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
_JWS = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ANY_DIGIT = re.compile(r"\d")
_MAX_DEPTH = 6


def _mask_digits(match: re.Match[str]) -> str:
    return match.group(0) if _DATE.match(match.group(0)) else "[digits]"


def redact_value(text: str) -> str:
    if "eyJ" in text:
        text = _JWS.sub("[token]", text)
    if _ANY_DIGIT.search(text) is None:  # most values (names of methods, reason codes): nothing to mask
        return text
    text = _DIGITS.sub(_mask_digits, text)
    return _SHORT_CODE.sub("[digits]", text)


def _clean(key: str, value: Any, depth: int = 0) -> Any:
    lowered = key.lower()
    if lowered in SENSITIVE_KEYS:
        if lowered == "code" and isinstance(value, str) and value in STATUS_NAMES:
            return value
        return "[redacted]"
    if isinstance(value, str):
        return redact_value(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    if depth >= _MAX_DEPTH:
        return "[nested]" if isinstance(value, Mapping | list | tuple | set) else value
    if isinstance(value, Mapping):
        return {k: _clean(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_clean(key, v, depth + 1) for v in value]
    return value


#: The request a thread is serving: ``request_id``, ``rpc`` and, once authenticated, ``caller``, set by the RPC
#: interceptor for the duration of a request (and carried to the inference pool with the context). One context
#: variable holding a small dict, set once and reset once per request, instead of structlog's binding of each key
#: (a variable per key, set and reset one by one): the binding cost about a tenth of a trivial RPC's throughput.
REQUEST_FIELDS: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("request_fields",
                                                                                      default=None)


def merge_request(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Add the current request's fields to a line (a key the line sets itself wins)."""
    fields = REQUEST_FIELDS.get()
    if fields:
        for key, value in fields.items():
            event.setdefault(key, value)
    return event


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key not in _PIPELINE_KEYS:
            event[key] = _clean(key, event[key])
    return event


class _CurrentStderr:
    """Standard error as it is at each write, not as it was when logging was configured: whoever swaps
    ``sys.stderr`` later (a test runner capturing output, a daemon redirecting it) gets the lines, and a stream
    closed since configuration is never written to."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _json(event: Any, **_options: Any) -> str:
    """One JSON line with orjson (a fifth of json.dumps' time on an RPC line); anything it cannot encode as is
    (exceptions, paths) is written as its ``str``, as structlog's default renderer does."""
    return orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class _RpcLine:
    """The one line every RPC logs, written without structlog's processor chain when logs are JSON, and off the
    RPC's thread.

    That chain (context merge, level, timestamp, exception formatting, redaction, rendering, a locked print) costs
    about 18 us a line, a sixth of a trivial RPC's server time; this path writes the same keys in the same timestamp
    format in about 5 us. It skips the redactor because every value is the service's own: the method name, a status
    name, a reason code from the catalogue, the milliseconds, the caller id from the service's key file or
    certificate registry, and a request id that matched ``[A-Za-z0-9._:-]{1,64}`` (a pipeline key the redactor
    leaves alone everywhere); ``tests/transport/test_logs.py`` checks the line against the redactor. Other formats
    (the console renderer of ``make run``) go through structlog as every other line does.

    The RPC's thread only queues the line's fields with the time. A writer thread renders and writes what is
    queued every ``interval_s``, in one system call: a write per RPC released and retook the interpreter lock
    mid-request, which under load handed it to another thread and cost about five futex calls, and rendering
    many lines in one loop costs less than one at a time between requests (bench/bench_rpc.py). Every other line
    written to the same stream first writes the queued RPC lines, so lines keep their order; ``flush`` writes
    them now, and runs at exit. What a killed process (SIGKILL) had queued, at most ``interval_s`` of RPC lines,
    is lost; the audit trail is in the database, not in these lines.
    """

    interval_s = 0.02
    #: Lines queued at most: a log reader that stops reading must not grow the service's memory without bound.
    #: Lines beyond it are dropped and counted, and the count is logged with the next write.
    max_pending = 50_000

    def __init__(self) -> None:
        self._out: TextIO | None = None
        self._enabled = True
        self._lock = threading.RLock()
        self._pending: deque[tuple[float, dict[str, Any]]] = deque()
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        self._dropped = 0
        self._fallback = structlog.get_logger("idverify.rpc")
        os.register_at_fork(after_in_child=self._forked)
        atexit.register(self.flush)

    def configure(self, out: TextIO | None, enabled: bool) -> None:
        self.flush()
        self._out, self._enabled = out, enabled

    def __call__(self, **fields: Any) -> None:
        out = self._out
        if out is None:  # not JSON: the ordinary pipeline renders it
            self._fallback.info("rpc", **fields)
            return
        if not self._enabled:
            return
        if len(self._pending) >= self.max_pending:
            self._dropped += 1
            return
        self._pending.append((time.time(), fields))  # rendered by the writer, many at a time
        if not self._wake.is_set():
            if self._writer is None:
                self._start()
            self._wake.set()

    def flush(self) -> None:
        """Write the queued lines now (in order, in one write)."""
        with self._lock:
            self._write_pending()

    def write_after_pending(self, out: TextIO, text: str) -> int:
        """Write ``text`` to ``out`` after the queued RPC lines, so a stream shared with them keeps its order."""
        with self._lock:
            self._write_pending()
            return out.write(text)

    def _write_pending(self) -> None:
        pending, out = self._pending, self._out
        if not pending:
            return
        lines = [pending.popleft() for _ in range(len(pending))]
        if out is None:
            return
        rendered = [_rendered(line) for line in lines]
        self._dropped += rendered.count("")
        text = "".join(rendered)
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            text += orjson.dumps({"event": "rpc_lines_dropped", "count": dropped, "level": "warning",
                                  "timestamp": stamp}).decode() + "\n"
        try:
            out.write(text)
            out.flush()
        except (OSError, ValueError):  # the stream went away (closed, full, gone): the lines cannot be written
            pass

    def _start(self) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="rpc-log", daemon=True)
                self._writer.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self.interval_s)  # lines that arrive meanwhile go out in the same write
            self.flush()

    def _forked(self) -> None:
        """In a forked child: no writer thread yet, and nothing of the parent's queue (the parent writes it)."""
        self._lock = threading.RLock()
        self._pending = deque()
        self._wake = threading.Event()
        self._writer = None
        self._dropped = 0


def _rendered(line: tuple[float, dict[str, Any]]) -> str:
    """One queued RPC line as JSON, or "" (counted as dropped) if it cannot be rendered: the writer thread must
    outlive any line."""
    at, fields = line
    fields["event"] = "rpc"
    fields["level"] = "info"
    fields["timestamp"] = datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
    try:
        return orjson.dumps(fields, default=str).decode() + "\n"
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return ""


class _AfterRpcLines:
    """The log stream for every other line: queued RPC lines are written first, so the stream keeps its order."""

    def __init__(self, out: TextIO, rpc: _RpcLine) -> None:
        self._out, self._rpc = out, rpc

    def write(self, text: str) -> int:
        return self._rpc.write_after_pending(self._out, text)

    def flush(self) -> None:
        self._out.flush()


#: ``rpc_line(method=..., code=..., ...)`` logs the RPC line at INFO (see ``_RpcLine``).
rpc_line = _RpcLine()


def configure(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging through one redacting pipeline to ``stream``
    (standard error unless given)."""
    out = stream or cast(TextIO, _CurrentStderr())
    rpc_line.configure(out if fmt == "json" else None, logging.getLevelName(level) <= logging.INFO)
    out = cast(TextIO, _AfterRpcLines(out, rpc_line))
    renderer: Any = (structlog.processors.JSONRenderer(serializer=_json) if fmt == "json"
                     else structlog.dev.ConsoleRenderer())
    shared: list[Any] = [
        merge_request,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.WriteLoggerFactory(file=out),  # one write per line (the order above)
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processors=[
        structlog.stdlib.ProcessorFormatter.remove_processors_meta, *shared, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
