"""The dispatcher on SQLite and PostgreSQL: delivery after commit, exponential backoff, dead letters, expiry of SMS
codes, metrics, and alerts logged with their content."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import structlog
from prometheus_client import REGISTRY

from idverify.domain.errors import InvalidArgument, Unavailable
from idverify.outbox import ClaimedMessage, DeliveryFailed, LogDelivery, RetryPolicy, SmsDelivery
from idverify.outbox.writers import QueuedAlertSink, QueuedSmsSender
from idverify.risk.alerts import Alert
from tests.adapters.outbox.conftest import World

ALERT = Alert("2026-11-01T09:00:00+00:00", "lender-a", "ses_1", "start", "review", 60, ("phone_recently_changed",))


class Recording:
    """A delivery that records what it was given and fails while ``failures`` lasts."""

    def __init__(self, failures: list[DeliveryFailed | Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.seen: list[ClaimedMessage] = []

    def deliver(self, message: ClaimedMessage) -> str:
        self.seen.append(message)
        if self.failures:
            raise self.failures.pop(0)
        return "provider-1"


class Phone:
    """An SmsSender standing in for Twilio."""

    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.error = error

    def send(self, to_e164: str, body: str) -> str:
        if self.error is not None:
            raise self.error
        self.sent.append((to_e164, body))
        return f"SM{len(self.sent)}"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_failure_is_retried_after_an_exponential_backoff_then_dead_lettered(world: World) -> None:
    with world.uow() as uow:
        message_id = uow.outbox.webhook("case", "case.opened", {"case_id": "c1"})
    hook = Recording([DeliveryFailed("webhook_http_503")] * 3)
    dispatcher = world.dispatcher({"webhook": hook}, retry=RetryPolicy(max_attempts=3, base_s=5.0, max_s=60.0))
    dead_before = metric("idverify_outbox_dead_lettered_total", channel="webhook", event_type="case.opened",
                         reason="webhook_http_503")
    assert dispatcher.run_once()
    world.clock.advance(4.9)
    assert not dispatcher.run_once()  # not due before 5 s
    world.clock.advance(0.6)  # 5 s plus at most 10% jitter
    assert dispatcher.run_once()
    world.clock.advance(9.9)
    assert not dispatcher.run_once()  # the second wait doubles
    world.clock.advance(1.1)
    assert dispatcher.run_once()
    world.clock.advance(3600)
    assert not dispatcher.run_once()  # three tries: a dead letter, never claimed again
    assert [m.message_id for m in hook.seen] == [message_id] * 3
    assert [m.attempts for m in hook.seen] == [1, 2, 3]
    record = world.queue.get(message_id)
    assert record is not None and record.status == "dead" and record.last_error == "webhook_http_503"
    assert metric("idverify_outbox_dead_lettered_total", channel="webhook", event_type="case.opened",
                  reason="webhook_http_503") == dead_before + 1


def test_a_message_that_fails_once_is_delivered_on_the_retry(world: World) -> None:
    with world.uow() as uow:
        message_id = uow.outbox.webhook("risk", "risk.alert", {"score": 60})
    hook = Recording([DeliveryFailed("webhook_timeout")])
    dispatcher = world.dispatcher({"webhook": hook})
    retried = metric("idverify_outbox_retried_total", channel="webhook", event_type="risk.alert",
                     reason="webhook_timeout")
    delivered = metric("idverify_outbox_delivered_total", channel="webhook", event_type="risk.alert")
    dispatcher.run_once()
    world.clock.advance(6)
    dispatcher.run_once()
    record = world.queue.get(message_id)
    assert record is not None and record.status == "delivered" and record.attempts == 2
    assert metric("idverify_outbox_retried_total", channel="webhook", event_type="risk.alert",
                  reason="webhook_timeout") == retried + 1
    assert metric("idverify_outbox_delivered_total", channel="webhook", event_type="risk.alert") == delivered + 1


def test_a_bug_in_a_delivery_is_retried_not_fatal(world: World) -> None:
    with world.uow() as uow:
        uow.outbox.webhook("risk", "risk.alert", {})
    hook = Recording([RuntimeError("bug")])
    dispatcher = world.dispatcher({"webhook": hook})
    assert dispatcher.run_once()
    world.clock.advance(6)
    assert dispatcher.run_once()
    assert [r.status for r in world.queue.records()] == ["delivered"]


def test_an_sms_is_opened_only_in_the_dispatcher_and_its_payload_cleared(world: World) -> None:
    sender = QueuedSmsSender(world.uow, event_type="otp.code", expires_in_s=300)
    message_id = sender.send("+8613800138000", "验证码 123456")
    phone = Phone()
    world.dispatcher({"sms": SmsDelivery(phone, world.protector)}).drain()
    assert phone.sent == [("+8613800138000", "验证码 123456")]
    record = world.queue.get(message_id)
    assert record is not None and record.status == "delivered" and not record.has_payload
    assert record.provider_id == "SM1"


def test_an_sms_whose_code_expired_is_dead_lettered_unsent(world: World) -> None:
    QueuedSmsSender(world.uow, event_type="otp.code", expires_in_s=300).send("+8613800138000", "code 123456")
    phone = Phone(Unavailable("sms_unavailable"))
    dispatcher = world.dispatcher({"sms": SmsDelivery(phone, world.protector)},
                                  retry=RetryPolicy(max_attempts=10, base_s=200.0, max_s=600.0))
    dispatcher.run_once()
    phone.error = None
    world.clock.advance(301)
    dispatcher.run_once()
    assert phone.sent == []
    [record] = world.queue.records()
    assert (record.status, record.last_error, record.has_payload) == ("dead", "expired", False)


def test_a_number_the_provider_refuses_is_dead_lettered_at_once(world: World) -> None:
    QueuedSmsSender(world.uow, event_type="verification.completed").send("+8613800138000", "done")
    phone = Phone(InvalidArgument("phone_invalid"))
    world.dispatcher({"sms": SmsDelivery(phone, world.protector)}).run_once()
    [record] = world.queue.records()
    assert (record.status, record.last_error, record.attempts) == ("dead", "phone_invalid", 1)


def test_a_risk_alert_without_a_webhook_is_logged_with_its_content_after_the_commit(world: World) -> None:
    sink = QueuedAlertSink(world.uow, webhook=False)
    with world.uow():
        sink.send(ALERT)
    with structlog.testing.capture_logs() as logs:
        world.dispatcher({"log": LogDelivery()}).drain()
    [line] = [entry for entry in logs if entry["event"] == "risk_alert"]
    assert line["session_id"] == "ses_1" and line["outcome"] == "review" and line["score"] == 60
    assert line["reason_codes"] == ["phone_recently_changed"] and line["log_level"] == "warning"


def test_an_alert_in_a_rolled_back_transaction_is_never_sent(world: World) -> None:
    sink = QueuedAlertSink(world.uow, webhook=True)
    with pytest.raises(RuntimeError), world.uow():
        sink.send(ALERT)
        raise RuntimeError("the verification failed after the alert was raised")
    hook = Recording()
    assert world.dispatcher({"webhook": hook}).drain() == 0
    assert hook.seen == [] and world.queue.records() == []


def test_the_worker_threads_deliver_soon_after_a_commit_and_stop(world: World) -> None:
    hook = Recording()
    dispatcher = world.dispatcher({"webhook": hook}, poll_s=30.0, workers=2)
    world.wake = dispatcher.wake
    dispatcher.start()
    try:
        time.sleep(0.1)  # both workers are now waiting (30 s poll): only the commit's wake-up can bring them
        with world.uow() as uow:
            uow.outbox.webhook("risk", "risk.alert", {})
        deadline = time.monotonic() + 5
        while not hook.seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(hook.seen) == 1
    finally:
        started = time.monotonic()
        dispatcher.stop(timeout_s=5)
    assert time.monotonic() - started < 2


def test_the_queue_gauges_show_depth_and_age(world: World) -> None:
    with world.uow() as uow:
        uow.outbox.webhook("risk", "risk.alert", {})
    world.clock.advance(timedelta(minutes=2).total_seconds())
    world.dispatcher({}).refresh_metrics()
    assert metric("idverify_outbox_queue_depth") == 1
    assert metric("idverify_outbox_oldest_age_seconds") == pytest.approx(120)


def test_retry_policy_doubles_up_to_its_cap() -> None:
    assert RetryPolicy(max_attempts=6, base_s=5, max_s=30).schedule() == [5, 10, 20, 30, 30]
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_two_replicas_on_one_database_deliver_each_message_once(world: World) -> None:
    from idverify.outbox import OutboxDispatcher, SqlOutboxQueue
    from idverify.storage.engine import make_engine
    from tests.fakes import SeededRandom

    with world.uow() as uow:
        ids = [uow.outbox.webhook("risk", "risk.alert", {"n": n}) for n in range(30)]
    other_engine = make_engine(world.engine.url.render_as_string(hide_password=False))
    hooks = [Recording(), Recording()]
    replicas = [
        OutboxDispatcher(SqlOutboxQueue(engine), {"webhook": hook}, clock=world.clock, random=SeededRandom(n),
                         workers=2, poll_s=0.05)
        for n, (engine, hook) in enumerate(zip((world.engine, other_engine), hooks, strict=True))
    ]
    for replica in replicas:
        replica.start()
    try:
        deadline = time.monotonic() + 20
        while sum(len(h.seen) for h in hooks) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        for replica in replicas:
            replica.stop()
        other_engine.dispose()
    delivered = [m.message_id for h in hooks for m in h.seen]
    assert sorted(delivered) == sorted(ids)  # every message once, none twice
    assert {r.status for r in world.queue.records()} == {"delivered"}


def test_a_database_outage_is_logged_once_and_delivery_resumes(world: World) -> None:
    from idverify.outbox import ClaimedMessage as Claimed
    from idverify.outbox import OutboxDispatcher
    from tests.fakes import SeededRandom

    class FlakyQueue:
        """The real queue, whose claims fail three times (the database is away) before it comes back."""

        def __init__(self) -> None:
            self.failures = 3

        def claim(self, **kwargs: object) -> list[Claimed]:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("database unreachable")
            return world.queue.claim(**kwargs)  # type: ignore[arg-type]

        def __getattr__(self, name: str) -> object:
            return getattr(world.queue, name)

    with world.uow() as uow:
        message_id = uow.outbox.webhook("risk", "risk.alert", {})
    hook = Recording()
    flaky = FlakyQueue()
    dispatcher = OutboxDispatcher(flaky, {"webhook": hook}, clock=world.clock,  # type: ignore[arg-type]
                                  random=SeededRandom(5), workers=1, poll_s=0.01)
    with structlog.testing.capture_logs() as logs:
        dispatcher.start()
        try:
            deadline = time.monotonic() + 10
            while not hook.seen and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            dispatcher.stop()
    assert [m.message_id for m in hook.seen] == [message_id] and flaky.failures == 0
    assert [e["event"] for e in logs].count("outbox_dispatch_failed") == 1
