"""TOTP on the real stores: the secret is sealed at rest with the field cipher (key ids, rotation), old-style
sealed secrets still open and are resealed, and a code is accepted once even under concurrency."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select, update

import idverify.storage.tables_otp as tables_otp
from idverify.domain.errors import FailedPrecondition
from idverify.factors.totp import TotpConfig, TotpService, time_step, totp_at
from idverify.privacy.cipher import FieldCipher, kid_of
from idverify.privacy.keys import ConfigKeyProvider
from idverify.privacy.sealing import SealedFields
from idverify.storage.counters import SqlCounterStore
from idverify.storage.otp_store import SqlTotpStore
from tests.adapters.otp.harness import codes, hammer
from tests.fakes import FixedClock, SeededRandom

KEY = bytes(range(32))
NEW_KEY = bytes(range(1, 33))


def protector(*ring: tuple[str, bytes]) -> SealedFields:
    keys = ConfigKeyProvider(data_keys=dict(ring), active_kid=ring[0][0], index_key=b"i" * 32)
    return SealedFields(FieldCipher(keys, SeededRandom()))


def rig(engine: Engine, store: SqlTotpStore | None = None) -> tuple[TotpService, SqlTotpStore, FixedClock]:
    clock = FixedClock(datetime(2026, 11, 1, 9, 0, 10, tzinfo=UTC))
    store = store or SqlTotpStore(engine, protector(("k1", KEY)))
    service = TotpService(
        store=store, counters=SqlCounterStore(engine), clock=clock, random=SeededRandom(), config=TotpConfig()
    )
    return service, store, clock


def _sealed(engine: Engine, applicant: str = "app-1") -> bytes:
    t = tables_otp.totp_credentials
    with engine.connect() as conn:
        return bytes(conn.execute(select(t.c.sealed_secret).where(t.c.applicant_id == applicant)).scalar_one())


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
    with pytest.raises(FailedPrecondition) as err:
        store.get("app-2")
    assert err.value.code == "totp_unreadable"  # FAILED_PRECONDITION: permanent, enrol again; never retryable
    with pytest.raises(FailedPrecondition):
        SqlTotpStore(engine, protector(("k9", b"\x00" * 32))).get("app-1")


def test_after_rotating_the_data_key_old_secrets_still_open_and_new_ones_use_the_new_kid(engine: Engine) -> None:
    service, _, clock = rig(engine)
    service.enroll("app-1", "app-1")
    assert kid_of(_sealed(engine)) == "k1"
    rotated = SqlTotpStore(engine, protector(("k2", NEW_KEY), ("k1", KEY)))
    service, store, _ = rig(engine, rotated)
    service.verify("app-1", current_code(store, clock))
    service.enroll("app-2", "app-2")
    assert kid_of(_sealed(engine, "app-2")) == "k2"
    retired = SqlTotpStore(engine, protector(("k2", NEW_KEY)))
    with pytest.raises(FailedPrecondition) as err:
        retired.get("app-1")
    assert err.value.code == "totp_unreadable"


def test_secrets_sealed_the_old_way_open_and_are_resealed_with_a_key_id(engine: Engine) -> None:
    secret, nonce = b"s" * 20, os.urandom(12)
    old_blob = b"\x01" + nonce + AESGCM(KEY).encrypt(nonce, secret, b"idverify/totp-secret/v1|app-1")
    with engine.begin() as conn:
        conn.execute(tables_otp.totp_credentials.insert().values(
            applicant_id="app-1", sealed_secret=old_blob, digits=6, period_s=30, algorithm="sha1", last_counter=None,
            created_at=datetime(2026, 10, 1, tzinfo=UTC)))
    store = SqlTotpStore(engine, protector(("k2", NEW_KEY), ("k1", KEY)), legacy_keys=(NEW_KEY, KEY))
    record = store.get("app-1")
    assert record is not None and record.secret == secret
    assert kid_of(_sealed(engine)) == "k2"  # resealed on this use, under the active key
    assert SqlTotpStore(engine, protector(("k2", NEW_KEY))).get("app-1").secret == secret  # type: ignore[union-attr]
    assert store.reseal_legacy() == 0


def test_every_old_style_secret_can_be_resealed_at_once(engine: Engine) -> None:
    for applicant in ("app-1", "app-2"):
        nonce = os.urandom(12)
        blob = b"\x01" + nonce + AESGCM(KEY).encrypt(nonce, b"t" * 20, f"idverify/totp-secret/v1|{applicant}".encode())
        with engine.begin() as conn:
            conn.execute(tables_otp.totp_credentials.insert().values(
                applicant_id=applicant, sealed_secret=blob, digits=6, period_s=30, algorithm="sha1",
                last_counter=None, created_at=datetime(2026, 10, 1, tzinfo=UTC)))
    store = SqlTotpStore(engine, protector(("k1", KEY)), legacy_keys=(KEY,))
    assert store.reseal_legacy() == 2
    assert {kid_of(_sealed(engine, a)) for a in ("app-1", "app-2")} == {"k1"}


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
