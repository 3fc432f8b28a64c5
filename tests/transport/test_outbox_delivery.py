"""Side effects over the real server, on SQLite and PostgreSQL: webhooks leave after the commit, so a receiver
that hangs does not slow the RPCs; a receiver that fails gets the same message (same webhook-id) later, verified
with the ``standardwebhooks`` library; a rolled-back request sends nothing; a dead letter after N tries.

Risk alerts are the webhooks here: an applicant on a device and IP where five others were seen scores ``review``
(shared device 50 + shared IP 30), so its start and each of its factor results raise a ``risk.alert``.
"""

from __future__ import annotations

import base64
import http.server
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from idverify.api.v1 import verification_pb2, verification_pb2_grpc
from idverify.outbox import SqlOutboxQueue
from idverify.privacy.blind_index import BlindIndex
from idverify.risk import RiskEvent, SqlSignalStore, subject_from_identifiers
from tests.transport.conftest import Running, running_app
from tests.transport.test_server import context, start_request
from tests.transport.test_verification_flow import outbox

V = verification_pb2
SECRET = "whsec_" + base64.b64encode(b"lender-webhook-key-0123456789abc").decode()
HANG_S = 10.0


@dataclass
class Receiver:
    """The lender's endpoint. A message first seen while ``plan`` is set gets the plan's answers, try by try (the
    last one repeating): "hang" (sleeps HANG_S, then 204), "fail" (503) or "ok" (204); other messages get "ok"."""

    url: str = ""
    plan: tuple[str, ...] = ("ok",)
    plans: dict[str, tuple[str, ...]] = field(default_factory=dict)  # webhook-id -> the plan it got
    arrivals: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)  # (answer, headers, body)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> str:
        with self.lock:
            message_id = headers["webhook-id"]
            plan = self.plans.setdefault(message_id, self.plan)
            tries = sum(1 for _, h, _ in self.arrivals if h["webhook-id"] == message_id)
            mode = plan[min(tries, len(plan) - 1)]
            self.arrivals.append((mode, headers, body))
            return mode

    def ids(self, mode: str) -> list[str]:
        return [headers["webhook-id"] for m, headers, _ in self.arrivals if m == mode]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert predicate(), "the receiver did not get what it waited for"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            mode = state.answer({k.lower(): v for k, v in self.headers.items()}, body)
            if mode == "hang":
                time.sleep(HANG_S)
            try:
                self.send_response(503 if mode == "fail" else 204)
                self.end_headers()
            except OSError:  # the sender gave up waiting
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/risk"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(tmp_path: Path, db_url: str, receiver: Receiver) -> Iterator[Running]:
    with running_app(tmp_path, IDVERIFY_DATABASE_URL=db_url, IDVERIFY_FACE="off",
                     IDVERIFY_RISK_WEBHOOK_URL=receiver.url, IDVERIFY_WEBHOOK_SECRET=SECRET,
                     IDVERIFY_WEBHOOK_TIMEOUT_S="1", IDVERIFY_OUTBOX_BACKOFF_S="0.3",
                     IDVERIFY_OUTBOX_BACKOFF_MAX_S="0.6", IDVERIFY_OUTBOX_MAX_ATTEMPTS="3",
                     IDVERIFY_OUTBOX_POLL_S="0.1") as running:
        yield running


def shared_device_crowd(running: Running) -> None:
    """Five other applicants seen on this device and IP (factor results, not starts, so the night-burst rule,
    which counts starts, stays out of it whatever the hour): the next applicant there scores 80, ``review``."""
    index_key = running.app.settings.index_key
    assert index_key is not None
    index = BlindIndex(index_key.reveal())
    with running.app.engine.begin() as conn:
        for n in range(1, 6):
            subject = subject_from_identifiers(index, tenant="default", applicant_id=f"crowd-{n}",
                                               device_id="dev-1", ip="203.0.113.9")
            SqlSignalStore().record(conn, RiskEvent("factor", subject, f"vs_crowd{n}", factor="sms_otp",
                                                    factor_passed=True), datetime.now(UTC))


def timed_check_otp(running: Running, stub: verification_pb2_grpc.VerificationServiceStub, applicant: str) -> float:
    sid = stub.StartVerification(start_request(applicant=applicant), metadata=running.md()).verification.session_id
    stub.SendOtp(V.SendOtpRequest(context=context(applicant=applicant), session_id=sid), metadata=running.md())
    [code] = re.findall(r"\b(\d{6})\b", outbox(running)[-1]["body"])
    started = time.perf_counter()
    stub.CheckOtp(V.CheckOtpRequest(context=context(applicant=applicant), session_id=sid, code=code,
                                    channel=V.OTP_CHANNEL_SMS), metadata=running.md())
    return time.perf_counter() - started


def test_a_hanging_receiver_does_not_slow_check_otp_and_a_failing_one_gets_the_same_message_later(
        app: Running, receiver: Receiver) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(app.channel)
    shared_device_crowd(app)
    normal_s = timed_check_otp(app, stub, "acct-normal")
    receiver.wait_for(lambda: len(receiver.ids("ok")) >= 2)  # the start's and the check's alerts

    receiver.plan = ("hang", "fail", "ok")  # each new message: hangs, then fails, then is taken
    hanging_s = timed_check_otp(app, stub, "acct-hang")
    print(f"CheckOtp {normal_s * 1000:.0f} ms with a normal receiver, {hanging_s * 1000:.0f} ms while it hangs "
          f"{HANG_S:.0f} s")
    assert hanging_s < 2.0, f"CheckOtp took {hanging_s:.2f} s while the webhook receiver hung"
    receiver.wait_for(lambda: len(receiver.ids("hang")) >= 2)  # the start's and the check's alerts
    receiver.wait_for(lambda: set(receiver.ids("hang")) <= set(receiver.ids("ok")))
    verifier = Webhook(SECRET)
    for message_id in receiver.ids("hang"):
        tries = [(m, h, b) for m, h, b in receiver.arrivals if h["webhook-id"] == message_id]
        assert [m for m, _, _ in tries] == ["hang", "fail", "ok"]  # three tries, one message id
        for _, headers, body in tries:
            payload = verifier.verify(body, headers)  # every try is signed afresh and verifies
            assert payload["type"] == "risk.alert" and payload["data"]["outcome"] == "review"
    records = {r.message_id: r for r in SqlOutboxQueue(app.app.engine).records()}
    assert all(records[m].status == "delivered" and records[m].attempts == 3 for m in receiver.ids("hang"))


def test_a_receiver_that_keeps_failing_gets_a_dead_letter_after_the_configured_tries(
        app: Running, receiver: Receiver) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(app.channel)
    receiver.plan = ("fail",)
    shared_device_crowd(app)
    stub.StartVerification(start_request(applicant="acct-dead"), metadata=app.md())
    queue = SqlOutboxQueue(app.app.engine)

    def dead() -> list[str]:
        return [r.message_id for r in queue.records() if r.status == "dead"]

    receiver.wait_for(lambda: len(dead()) == 1)
    [message_id] = dead()
    assert receiver.ids("fail").count(message_id) == 3  # IDVERIFY_OUTBOX_MAX_ATTEMPTS
    record = queue.get(message_id)
    assert record is not None and record.last_error == "webhook_http_503"


def test_a_rolled_back_request_sends_nothing(app: Running, receiver: Receiver, db_url: str) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(app.channel)
    shared_device_crowd(app)  # five applicants: the next one on this device scores review
    before = len(SqlOutboxQueue(app.app.engine).records())
    # The session insert fails after the risk check queued its alert, so the whole transaction rolls back.
    with app.app.engine.begin() as conn:
        if db_url.startswith("sqlite"):
            conn.execute(text("CREATE TRIGGER refuse_rollback BEFORE INSERT ON verification_sessions "
                              "WHEN NEW.applicant_id = 'acct-rollback' BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_rollback() RETURNS trigger AS $$ BEGIN "
                              "IF NEW.applicant_id = 'acct-rollback' THEN RAISE EXCEPTION 'refused'; END IF; "
                              "RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_rollback BEFORE INSERT ON verification_sessions "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_rollback()"))
    with pytest.raises(grpc.RpcError):  # the repository reads the refused insert as a conflict; either way it fails
        stub.StartVerification(start_request(applicant="acct-rollback"), metadata=app.md())
    time.sleep(0.5)  # a queued alert would have left by now (poll 0.1 s, woken on commit)
    assert len(SqlOutboxQueue(app.app.engine).records()) == before
    assert receiver.arrivals == []
    with app.app.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_rollback" + ("" if db_url.startswith("sqlite")
                                                            else " ON verification_sessions")))
    stub.StartVerification(start_request(applicant="acct-rollback"), metadata=app.md())
    receiver.wait_for(lambda: len(receiver.arrivals) == 1)  # the same request, committed this time, alerts
