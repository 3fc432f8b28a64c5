"""Webhooks against a local receiver, verified on the receiving side with the ``standardwebhooks`` library: the
signature, a stable webhook-id across retries, timeouts and error statuses as retryable failures."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from idverify.domain.errors import InvalidArgument
from idverify.domain.ports import SystemClock
from idverify.outbox import StandardWebhookDelivery, webhook_signing_key
from tests.adapters.outbox.conftest import SECRET_KEY, WHSEC, Receiver, World


def delivery(receiver: Receiver, *, timeout_s: float = 5.0) -> StandardWebhookDelivery:
    return StandardWebhookDelivery({"case": receiver.url}, WHSEC.encode(), SystemClock(), timeout_s=timeout_s)


def test_a_webhook_verifies_with_the_standard_library_and_keeps_its_id_across_retries(
        world: World, receiver: Receiver) -> None:
    receiver.statuses = [503, 200]
    with world.uow() as uow:
        message_id = uow.outbox.webhook("case", "case.opened", {"case_id": "case_1", "revoked_tokens": 2})
    dispatcher = world.dispatcher({"webhook": delivery(receiver)})
    dispatcher.run_once()
    world.clock.advance(6)
    dispatcher.run_once()
    assert len(receiver.requests) == 2
    receiving_side = Webhook(WHSEC)
    for headers, body in receiver.requests:
        assert headers["webhook-id"] == message_id
        payload = receiving_side.verify(body, headers)
        assert payload["type"] == "case.opened"
        assert payload["data"] == {"case_id": "case_1", "revoked_tokens": 2}
    record = world.queue.get(message_id)
    assert record is not None and record.status == "delivered" and record.attempts == 2


def test_a_tampered_body_or_another_secret_fails_verification(world: World, receiver: Receiver) -> None:
    with world.uow() as uow:
        uow.outbox.webhook("case", "case.opened", {"case_id": "case_1"})
    world.dispatcher({"webhook": delivery(receiver)}).drain()
    [(headers, body)] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body.replace(b"case_1", b"case_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another-secret-0123456789").verify(body, headers)


def test_a_receiver_that_hangs_past_the_timeout_is_a_retryable_failure(world: World, receiver: Receiver) -> None:
    receiver.hang_s = 2.0
    with world.uow() as uow:
        message_id = uow.outbox.webhook("case", "case.opened", {"case_id": "case_1"})
    world.dispatcher({"webhook": delivery(receiver, timeout_s=0.3)}).run_once()
    record = world.queue.get(message_id)
    assert record is not None and (record.status, record.last_error) == ("pending", "webhook_timeout")


def test_an_unreachable_receiver_and_an_unknown_endpoint(world: World) -> None:
    hook = StandardWebhookDelivery({"case": "http://127.0.0.1:9/hooks"}, SECRET_KEY, SystemClock(), timeout_s=1)
    with world.uow() as uow:
        unreachable = uow.outbox.webhook("case", "case.opened", {})
        unknown = uow.outbox.webhook("risk", "risk.alert", {})
    world.dispatcher({"webhook": hook}).drain()
    first, second = world.queue.get(unreachable), world.queue.get(unknown)
    assert first is not None and (first.status, first.last_error) == ("pending", "webhook_unreachable")
    assert second is not None and (second.status, second.last_error) == ("dead", "webhook_endpoint_unknown")


def test_the_body_is_the_standard_envelope() -> None:
    from datetime import UTC, datetime

    from idverify.storage.sql_outbox import webhook_body
    body = webhook_body("risk.alert", datetime(2026, 11, 1, 9, 0, tzinfo=UTC), {"score": 60})
    assert json.loads(body) == {"type": "risk.alert", "timestamp": "2026-11-01T09:00:00Z", "data": {"score": 60}}


def test_signing_keys_in_whsec_form_or_raw_text() -> None:
    assert webhook_signing_key(WHSEC.encode()) == SECRET_KEY
    assert webhook_signing_key(b"a-raw-secret-of-24-chars") == b"a-raw-secret-of-24-chars"
    for bad in (b"whsec_###", b"short", b"whsec_" + b"c2hvcnQ="):
        with pytest.raises(InvalidArgument) as err:
            webhook_signing_key(bad)
        assert err.value.code == "webhook_secret_invalid"
    assert "4242" not in repr(StandardWebhookDelivery({}, SECRET_KEY, SystemClock()))
