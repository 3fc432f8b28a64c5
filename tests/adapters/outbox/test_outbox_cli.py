"""``idverify outbox status | dead | retry`` against the real databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idverify.cli import main
from idverify.outbox import DeliveryFailed
from tests.adapters.outbox.conftest import World
from tests.adapters.outbox.test_dispatcher import Recording


def run(world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    monkeypatch.setenv("IDVERIFY_DATABASE_URL", world.engine.url.render_as_string(hide_password=False))
    assert main(["outbox", *argv]) == 0
    return capsys.readouterr().out


def test_dead_letters_are_listed_and_retried_with_fresh_tries(
        world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with world.uow() as uow:
        hook_id = uow.outbox.webhook("case", "case.opened", {"case_id": "c1"})
        sms_id = uow.outbox.sms("+8613800138000", "done", event_type="verification.completed")
    failing = Recording([DeliveryFailed("webhook_http_500", retryable=False),
                         DeliveryFailed("sms_unavailable", retryable=False)])
    world.dispatcher({"webhook": failing, "sms": failing}).drain()

    listed = run(world, monkeypatch, capsys, "dead")
    assert f"{hook_id} webhook case.opened tries=1 webhook_http_500" in listed
    assert f"{sms_id} sms verification.completed" in listed and "payload cleared" in listed
    assert "dead       webhook  1" in run(world, monkeypatch, capsys, "status")

    assert run(world, monkeypatch, capsys, "retry", "--all").strip() == "1 requeued"  # the SMS text is gone
    world.clock.advance((datetime.now(UTC) - world.clock.now()).total_seconds() + 1)  # the CLI requeues at now
    hook = Recording()
    world.dispatcher({"webhook": hook}).drain()
    assert [m.message_id for m in hook.seen] == [hook_id]
    record = world.queue.get(hook_id)
    assert record is not None and record.status == "delivered" and record.attempts == 1
