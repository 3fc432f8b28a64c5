"""Structured logs (structlog, JSON lines by default) with a redaction step that backs up the rule that personal
data, secrets, codes, tokens, images and embeddings never reach logs.

The redactor drops the values of sensitive keys wherever they appear and masks long digit runs (phone and ID
numbers) inside any string, so a mistake elsewhere does not leak them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset({
    "phone", "phone_e164", "to", "code", "otp", "token", "jwt", "secret", "password", "api_key", "key",
    "image", "images", "frame", "embedding", "template", "id_number", "document_number", "name", "full_name",
    "payout_account", "authorization", "private_key", "body", "provisioning_uri",
})
_DIGITS = re.compile(r"(?<![0-9A-Za-z])\+?\d[\d -]{5,}\d[Xx]?(?![0-9A-Za-z])")
_JWS = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def redact_value(text: str) -> str:
    text = _JWS.sub("[token]", text)
    return _DIGITS.sub("[digits]", text)


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in SENSITIVE_KEYS:
            event[key] = "[redacted]"
        elif isinstance(event[key], str) and key not in {"timestamp", "level", "request_id"}:
            event[key] = redact_value(event[key])
        elif isinstance(event[key], bytes | bytearray | memoryview):
            event[key] = f"[{len(event[key])} bytes]"
    return event


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and the standard library's logging through one redacting pipeline to stderr."""
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processors=[
        structlog.stdlib.ProcessorFormatter.remove_processors_meta, *shared[1:], renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
