"""Migration 0006 keeps entries written before the keyed chain and the sealer adopts them into it."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from idverify.audit import Actor, AuditEntry, AuditKey, AuditLog, AuditSealer, CheckpointSigner, verify_chain
from idverify.storage import migrate
from idverify.storage.engine import make_engine
from tests.fakes import FixedClock

KEY = AuditKey(bytes(range(32)))
SIGNING = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_entries_from_before_the_keyed_chain_are_adopted_and_new_ones_follow(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0005_core")
        with engine.begin() as conn:
            for seq in (1, 2, 3):
                conn.execute(text(
                    "INSERT INTO audit_entries (seq, at, actor_id, actor_role, action, object_type, object_id, outcome,"
                    " reason_code, purpose, details, prev_hash, entry_hash) VALUES (:seq, :at, 'lender-a', "
                    "'app_backend', 'verification.started', 'session', :oid, 'ok', '', '', '{}', :prev, :hash)"),
                    {"seq": seq, "at": datetime(2026, 11, 1, 9, seq, tzinfo=UTC), "oid": f"ses_{seq}",
                     "prev": "0" * 64, "hash": f"{seq:064d}"})
        migrate.upgrade(engine)
        assert migrate.drift(engine) == []
        clock = FixedClock()
        with engine.begin() as conn:
            appended = AuditLog(key=KEY, clock=clock).append(conn, AuditEntry(
                Actor("lender-a", "app_backend"), "verification.completed", "session", "ses_3", "ok"))
        assert appended.seq == 4
        sealer = AuditSealer(engine=engine, key=KEY, signer=lambda: CheckpointSigner(SIGNING, "k1"), clock=clock)
        assert sealer.drain() == 4
        report = verify_chain(engine, KEY, {"k1": SIGNING.public_key()})
        assert (report.ok, report.entries_checked, report.unsealed) == (True, 4, 0)
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_entries SET outcome = 'refused' WHERE seq = 2"))
        report = verify_chain(engine, KEY, {"k1": SIGNING.public_key()})
        assert (report.problem, report.first_bad_seq) == ("edited", 2)
    finally:
        engine.dispose()
