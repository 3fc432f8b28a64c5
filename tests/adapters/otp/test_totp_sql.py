"""TOTP on the real stores: the secret is sealed at rest, and a code is accepted once even under concurrency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, update

import idverify.storage.tables_otp as tables_otp
from idverify.domain.errors import Unavailable
from idverify.factors.totp import TotpConfig, TotpService, time_step, totp_at
from idverify.storage.counters import SqlCounterStore
from idverify.storage.otp_store import SqlTotpStore
from tests.adapters.otp.harness import codes, hammer
from tests.fakes import FixedClock, SeededRandom

KEY = bytes(range(32))


def rig(engine: Engine) -> tuple[TotpService, SqlTotpStore, FixedClock]:
    clock = FixedClock(datetime(2026, 11, 1, 9, 0, 10, tzinfo=UTC))
    store = SqlTotpStore(engine, KEY)
    service = TotpService(
        store=store, counters=SqlCounterStore(engine), clock=clock, random=SeededRandom(), config=TotpConfig()
    )
    return service, store, clock


def current_code(store: SqlTotpStore, clock: FixedClock, applicant: str = "app-1") -> str:
    record = store.get(applicant)
    assert record is not None
    return totp_at(record.secret, time_step(clock.now(), 30), 6, "sha1")


def test_the_secret_is_sealed_at_rest(engine: Engine) -> None:
    service, store, clock = rig(engine)
    service.enroll("app-1", "app-1")
    record = store.get("app-1")
    assert record is not None
    assert len(record.secret) == 20
    with engine.connect() as conn:
        sealed = conn.execute(select(tables_otp.totp_credentials.c.sealed_secret)).scalar_one()
    assert record.secret not in bytes(sealed)
    service.verify("app-1", current_code(store, clock))


def test_a_sealed_secret_moved_to_another_applicant_does_not_open(engine: Engine) -> None:
    service, store, _ = rig(engine)
    service.enroll("app-1", "app-1")
    service.enroll("app-2", "app-2")
    t = tables_otp.totp_credentials
    with engine.begin() as conn:
        stolen = conn.execute(select(t.c.sealed_secret).where(t.c.applicant_id == "app-1")).scalar_one()
        conn.execute(update(t).where(t.c.applicant_id == "app-2").values(sealed_secret=stolen))
    with pytest.raises(Unavailable) as err:
        store.get("app-2")
    assert err.value.code == "totp_store_unreadable"
    with pytest.raises(Unavailable):
        SqlTotpStore(engine, b"\x00" * 32).get("app-1")


def test_sixteen_concurrent_checks_of_one_valid_code_accept_once(engine: Engine) -> None:
    service, store, clock = rig(engine)
    service.enroll("app-1", "app-1")
    code = current_code(store, clock)
    results = hammer(lambda _: service.verify("app-1", code))
    assert results.count(None) == 1
    assert set(codes(results)) <= {"ok", "totp_replayed", "otp_locked"}


def test_remove_then_enrol_again(engine: Engine) -> None:
    service, store, _ = rig(engine)
    first = service.enroll("app-1", "app-1").provisioning_uri
    service.remove("app-1")
    assert store.get("app-1") is None
    assert service.enroll("app-1", "app-1").provisioning_uri != first
