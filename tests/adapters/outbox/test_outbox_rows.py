"""Outbox rows on SQLite and PostgreSQL: written in the unit of work's transaction, sealed when they hold personal
data, claimed with a lease that several dispatchers share safely."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from idverify.domain.errors import IdVerifyError
from idverify.outbox import ClaimedMessage
from idverify.storage.sql_outbox import current_outbox
from idverify.storage.tables_outbox import outbox_messages
from tests.adapters.outbox.conftest import World


class Boom(Exception):
    pass


def test_a_message_commits_with_its_unit_of_work_and_a_rolled_back_one_leaves_nothing(world: World) -> None:
    with world.uow() as uow:
        kept = uow.outbox.webhook("case", "case.opened", {"case_id": "case_1"})
    with pytest.raises(Boom), world.uow() as uow:
        uow.outbox.webhook("case", "case.opened", {"case_id": "case_2"})
        raise Boom
    assert [r.message_id for r in world.queue.records()] == [kept]
    assert world.wakeups == [1]  # only the commit woke the dispatcher


def test_the_unit_of_work_is_the_current_outbox_only_while_it_is_open(world: World) -> None:
    assert current_outbox() is None
    with world.uow() as uow:
        assert current_outbox() is uow.outbox
    assert current_outbox() is None


def test_an_sms_payload_is_sealed_and_cleared_once_delivered(world: World) -> None:
    with world.uow() as uow:
        message_id = uow.outbox.sms("+8613800138000", "code 123456", event_type="otp.code", expires_in_s=300)
    with world.engine.connect() as conn:
        raw = conn.execute(select(outbox_messages.c.payload)).scalar_one()
    assert b"13800138000" not in raw and b"123456" not in raw
    [claimed] = world.queue.claim(now=world.clock.now(), lease_s=60, token="t1")
    assert claimed.message_id == message_id and claimed.sealed and claimed.expires_at is not None
    assert world.queue.delivered(claimed, now=world.clock.now(), provider_id="SM1")
    record = world.queue.get(message_id)
    assert record is not None and record.status == "delivered" and not record.has_payload
    assert record.provider_id == "SM1"


def test_a_sealed_payload_copied_to_another_row_does_not_open(world: World) -> None:
    with world.uow() as uow:
        first = uow.outbox.sms("+8613800138000", "a", event_type="otp.code")
        second = uow.outbox.sms("+8613800138001", "b", event_type="otp.code")
    t = outbox_messages
    with world.engine.begin() as conn:
        payload = conn.execute(select(t.c.payload).where(t.c.message_id == first)).scalar_one()
        conn.execute(t.update().where(t.c.message_id == second).values(payload=payload))
    with pytest.raises(IdVerifyError):
        world.protector.unseal(payload, f"outbox_messages.payload.{second}")


def test_a_claimed_row_is_not_claimed_again_until_its_lease_ends(world: World) -> None:
    with world.uow() as uow:
        message_id = uow.outbox.webhook("risk", "risk.alert", {"score": 60})
    now = world.clock.now()
    [first] = world.queue.claim(now=now, lease_s=60, token="a")
    assert world.queue.claim(now=now + timedelta(seconds=59), lease_s=60, token="b") == []
    [second] = world.queue.claim(now=now + timedelta(seconds=61), lease_s=60, token="b")
    assert second.message_id == message_id and second.attempts == 2
    assert not world.queue.delivered(first, now=now)  # the first claimer's lease ended: its outcome is refused
    assert world.queue.delivered(second, now=now)
    assert world.queue.claim(now=now + timedelta(hours=1), lease_s=60, token="c") == []


def test_concurrent_claimers_deliver_each_message_once(world: World) -> None:
    with world.uow() as uow:
        ids = {uow.outbox.webhook("risk", "risk.alert", {"n": n}) for n in range(40)}
    seen: list[str] = []
    lock = threading.Lock()
    now = world.clock.now()

    def claimer(name: str) -> None:
        while True:
            claimed: list[ClaimedMessage] = world.queue.claim(now=now, lease_s=60, token=name, limit=3)
            if not claimed:
                return
            for message in claimed:
                assert world.queue.delivered(message, now=now)
                with lock:
                    seen.append(message.message_id)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(seen) == sorted(ids)
    assert {r.status for r in world.queue.records()} == {"delivered"}


def test_depth_counts_pending_rows_and_the_age_of_the_oldest(world: World) -> None:
    assert world.queue.depth(world.clock.now()).pending == 0
    with world.uow() as uow:
        uow.outbox.webhook("risk", "risk.alert", {})
    world.clock.advance(30)
    with world.uow() as uow:
        uow.outbox.webhook("risk", "risk.alert", {})
    world.clock.advance(10)
    depth = world.queue.depth(world.clock.now())
    assert depth.pending == 2 and depth.oldest_age_s == pytest.approx(40)


def test_purge_removes_only_delivered_rows_older_than_the_cut(world: World) -> None:
    with world.uow() as uow:
        delivered = uow.outbox.webhook("risk", "risk.alert", {})
        dead = uow.outbox.webhook("risk", "risk.alert", {})
    now = world.clock.now()
    claimed = {m.message_id: m for m in world.queue.claim(now=now, lease_s=60, token="t", limit=2)}
    world.queue.delivered(claimed[delivered], now=now)
    world.queue.dead(claimed[dead], now=now, error="webhook_http_500")
    assert world.queue.purge_finished(now + timedelta(seconds=1)) == 1
    assert [r.message_id for r in world.queue.records()] == [dead]
