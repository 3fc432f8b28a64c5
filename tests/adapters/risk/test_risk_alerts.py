"""Alert sinks: a signed webhook against a local HTTP server, the log sink, and the engine's use of them."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

import idverify.storage.tables_risk  # noqa: F401 - creates the risk tables for the engine fixture
from idverify.domain.errors import InvalidArgument, Unavailable
from idverify.privacy import BlindIndex
from idverify.risk import (
    Alert,
    LogAlertSink,
    RiskEngine,
    RiskEvent,
    SqlSignalStore,
    WebhookAlertSink,
    subject_from_identifiers,
    verify_webhook_signature,
)
from tests.fakes import FixedClock

SECRET = b"webhook-secret-0123456789"
ALERT = Alert("2026-11-01T09:00:00+00:00", "lender-a", "ses_1", "start", "review", 60, ("phone_recently_changed",))


@dataclass
class Receiver:
    url: str
    status: int = 204
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers.items()), body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_webhook_posts_json_with_a_verifiable_signature(receiver: Receiver) -> None:
    clock = FixedClock()
    WebhookAlertSink(receiver.url, SECRET, clock).send(ALERT)
    [(headers, body)] = receiver.requests
    assert json.loads(body)["reason_codes"] == ["phone_recently_changed"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Idverify-Timestamp"] == str(int(clock.now().timestamp()))
    verify_webhook_signature(
        SECRET,
        body=body,
        timestamp=headers["X-Idverify-Timestamp"],
        signature=headers["X-Idverify-Signature"],
        now=clock.now(),
    )


def test_webhook_signature_check_refuses_tampering_other_keys_and_replays(receiver: Receiver) -> None:
    clock = FixedClock()
    WebhookAlertSink(receiver.url, SECRET, clock).send(ALERT)
    [(headers, body)] = receiver.requests
    ts, sig = headers["X-Idverify-Timestamp"], headers["X-Idverify-Signature"]
    cases = [
        (SECRET, body.replace(b"review", b"allow!"), ts, clock.now(), "webhook_signature_invalid"),
        (b"another-secret-0123456", body, ts, clock.now(), "webhook_signature_invalid"),
        (SECRET, body, ts, clock.now() + timedelta(minutes=10), "webhook_timestamp_stale"),
        (SECRET, body, "soon", clock.now(), "webhook_timestamp_invalid"),
    ]
    for secret, b, t, now, code in cases:
        with pytest.raises(InvalidArgument) as err:
            verify_webhook_signature(secret, body=b, timestamp=t, signature=sig, now=now)
        assert err.value.code == code


def test_webhook_error_status_is_unavailable(receiver: Receiver) -> None:
    receiver.status = 500
    with pytest.raises(Unavailable) as err:
        WebhookAlertSink(receiver.url, SECRET, FixedClock()).send(ALERT)
    assert err.value.code == "risk_webhook_failed"


def test_webhook_unreachable_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        WebhookAlertSink("http://127.0.0.1:9/alerts", SECRET, FixedClock(), timeout_s=1).send(ALERT)


def test_webhook_refuses_non_http_urls_and_short_secrets() -> None:
    with pytest.raises(InvalidArgument):
        WebhookAlertSink("file:///etc/passwd", SECRET, FixedClock())
    with pytest.raises(InvalidArgument):
        WebhookAlertSink("http://127.0.0.1/", b"short", FixedClock())
    assert "webhook-secret" not in repr(WebhookAlertSink("http://127.0.0.1/", SECRET, FixedClock()))


def test_log_sink_writes_the_alert(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="idverify.risk.alerts"):
        LogAlertSink().send(ALERT)
    [record] = caplog.records
    assert record.getMessage() == "risk_alert"
    assert record.__dict__["risk_alert"]["outcome"] == "review"


def _review_event(n: int) -> RiskEvent:
    index = BlindIndex(b"\x07" * 32)
    subject = subject_from_identifiers(index, tenant="t", applicant_id=f"a{n}", device_id="farm", phone="13800138000")
    return RiskEvent("start", subject, f"ses_{n}", phone_recently_changed=True)


def test_engine_alerts_only_on_review_or_refuse_and_survives_a_failing_sink(engine: Engine, receiver: Receiver) -> None:
    clock = FixedClock(datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
    risk = RiskEngine(store=SqlSignalStore(), clock=clock, sink=WebhookAlertSink(receiver.url, SECRET, clock))
    outcomes = []
    for n in range(3):
        with engine.begin() as conn:
            outcomes.append(risk.evaluate(conn, _review_event(n)).outcome)
    assert outcomes == ["step_up", "step_up", "refuse"]
    assert [json.loads(b)["session_id"] for _, b in receiver.requests] == ["ses_2"]
    receiver.status = 503
    with engine.begin() as conn:
        assert risk.evaluate(conn, _review_event(3)).outcome == "refuse"
