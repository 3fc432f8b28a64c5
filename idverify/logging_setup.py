"""Structured logs (structlog, JSON lines by default) with a redaction step that backs up the rule that personal
data, secrets, codes, tokens, images and embeddings never reach logs.

The redactor is precise rather than blunt, so logs still say what operators need:

- the values of sensitive keys are dropped wherever they appear, nested mappings and lists included. ``code`` is
  such a key (a one-time code) *unless* its value is a gRPC status name, which is what the RPC line logs;
- inside any other string, long digit runs (phone and ID numbers), standalone 6-8 digit runs (one-time codes) and
  JWS compact tokens are masked; ISO timestamps, hex hashes and ids survive (their digits touch letters);
- bytes become their length.

``configure`` binds nothing itself: the RPC interceptor binds ``request_id``, ``rpc`` and ``caller`` with
``structlog.contextvars`` for the duration of a request, so every line logged while serving it carries them,
including lines from the standard library's ``logging``.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
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
    """The one line every RPC logs, written without structlog's processor chain when logs are JSON.

    That chain (context merge, level, timestamp, exception formatting, redaction, rendering, a locked print) costs
    about 18 us a line, a sixth of a trivial RPC's server time; this path writes the same keys in the same timestamp
    format in about 5 us. It skips the redactor because every value is the service's own: the method name, a status
    name, a reason code from the catalogue, the milliseconds, the caller id from the service's key file or
    certificate registry, and a request id that matched ``[A-Za-z0-9._:-]{1,64}`` (a pipeline key the redactor
    leaves alone everywhere); ``tests/transport/test_logs.py`` checks the line against the redactor. Other formats
    (the console renderer of ``make run``) go through structlog as every other line does.
    """

    def __init__(self) -> None:
        self._out: TextIO | None = None
        self._enabled = True
        self._lock = threading.Lock()
        self._fallback = structlog.get_logger("idverify.rpc")

    def configure(self, out: TextIO | None, enabled: bool) -> None:
        self._out, self._enabled = out, enabled

    def __call__(self, **fields: Any) -> None:
        out = self._out
        if out is None:  # not JSON: the ordinary pipeline renders it
            self._fallback.info("rpc", **fields)
            return
        if not self._enabled:
            return
        fields["event"] = "rpc"
        fields["level"] = "info"
        fields["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        line = orjson.dumps(fields, default=str).decode() + "\n"
        with self._lock:
            out.write(line)
            out.flush()


#: ``rpc_line(method=..., code=..., ...)`` logs the RPC line at INFO (see ``_RpcLine``).
rpc_line = _RpcLine()


def configure(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging through one redacting pipeline to ``stream``
    (standard error unless given)."""
    out = stream or cast(TextIO, _CurrentStderr())
    rpc_line.configure(out if fmt == "json" else None, logging.getLevelName(level) <= logging.INFO)
    renderer: Any = (structlog.processors.JSONRenderer(serializer=_json) if fmt == "json"
                     else structlog.dev.ConsoleRenderer())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processors=[
        structlog.stdlib.ProcessorFormatter.remove_processors_meta, *shared, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
