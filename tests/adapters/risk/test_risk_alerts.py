"""Alerts: the log sink writes the alert's content, and the engine alerts only on review or refuse.

Delivery (queued in the verification's transaction, signed webhooks, retries) is tested in tests/adapters/outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

import idverify.storage.tables_risk  # noqa: F401 - creates the risk tables for the engine fixture
from idverify.privacy import BlindIndex
from idverify.risk import Alert, LogAlertSink, RiskEngine, RiskEvent, SqlSignalStore, subject_from_identifiers
from tests.fakes import FixedClock

ALERT = Alert("2026-11-01T09:00:00+00:00", "lender-a", "ses_1", "start", "review", 60, ("phone_recently_changed",))


class RecordingSink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


def test_log_sink_writes_the_alerts_content() -> None:
    with structlog.testing.capture_logs() as logs:
        LogAlertSink().send(ALERT)
    [line] = logs
    assert line["event"] == "risk_alert" and line["log_level"] == "warning"
    assert (line["session_id"], line["stage"], line["outcome"], line["score"]) == ("ses_1", "start", "review", 60)
    assert line["reason_codes"] == ("phone_recently_changed",) and line["tenant"] == "lender-a"


def _review_event(n: int) -> RiskEvent:
    index = BlindIndex(b"\x07" * 32)
    subject = subject_from_identifiers(index, tenant="t", applicant_id=f"a{n}", device_id="farm", phone="13800138000")
    return RiskEvent("start", subject, f"ses_{n}", phone_recently_changed=True)


def test_engine_alerts_only_on_review_or_refuse(engine: Engine) -> None:
    clock = FixedClock(datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
    sink = RecordingSink()
    risk = RiskEngine(store=SqlSignalStore(), clock=clock, sink=sink)
    outcomes = []
    for n in range(3):
        with engine.begin() as conn:
            outcomes.append(risk.evaluate(conn, _review_event(n)).outcome)
    assert outcomes == ["step_up", "step_up", "refuse"]
    [alert] = sink.alerts
    assert (alert.session_id, alert.outcome) == ("ses_2", "refuse")
    assert "13800138000" not in alert.to_json().decode()
