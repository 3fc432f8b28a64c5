"""Risk alerts and where they go.

An alert carries the session id, stage, outcome, score and reason codes, never an identifier of the applicant. In
the service, alerts are queued in the verification's own transaction (``idverify.outbox.QueuedAlertSink``) and
delivered after the commit as a signed Standard Webhooks POST (``risk.alert``, see docs/webhooks.md) or, with no
risk webhook configured, as a log line with the alert's fields. :class:`LogAlertSink` writes that line directly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import structlog


@dataclass(frozen=True, slots=True)
class Alert:
    at: str
    tenant: str
    session_id: str
    stage: str
    outcome: str
    score: int
    reason_codes: tuple[str, ...]

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")


class AlertSink(Protocol):
    def send(self, alert: Alert) -> None: ...


class LogAlertSink:
    """Writes each alert as one structured log line ``risk_alert`` (logger ``idverify.risk``, level WARNING) with
    the alert's fields at the top level, where the JSON log renderer shows them."""

    def __init__(self, logger: Any = None) -> None:
        self._log = logger or structlog.get_logger("idverify.risk")

    def send(self, alert: Alert) -> None:
        self._log.warning("risk_alert", **asdict(alert))
