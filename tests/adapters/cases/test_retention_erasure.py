"""Retention purge and applicant erasure over SQL: they delete what they should and never touch the audit chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, Table, func, select

from idverify.audit import Actor, AuditEntry, AuditKey, AuditLog, AuditSealer, CheckpointSigner, verify_chain
from idverify.privacy import BlindIndex
from idverify.privacy.erasure import DEFAULT_TARGETS, erase_applicant
from idverify.privacy.retention import DEFAULT_POLICIES, purge_expired
from idverify.risk import RiskEngine, RiskEvent, SqlSignalStore, subject_from_identifiers
from idverify.storage.schema import metadata
from idverify.storage.tables_audit import audit_entries
from idverify.storage.tables_cases import identity_freezes
from idverify.storage.tables_risk import risk_observations
from tests.fakes import FixedClock

INDEX = BlindIndex(b"\x07" * 32)
KEY = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _observe(engine: Engine, clock: FixedClock, applicant: str) -> None:
    subject = subject_from_identifiers(INDEX, tenant="t", applicant_id=applicant, phone="13800138000")
    with engine.begin() as conn:
        RiskEngine(store=SqlSignalStore(), clock=clock).evaluate(conn, RiskEvent("start", subject, "s"))


def _rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_purge_deletes_only_rows_past_retention(engine: Engine) -> None:
    clock = FixedClock(T0)
    _observe(engine, clock, "old")
    clock.advance(days=80)
    _observe(engine, clock, "recent")
    with engine.begin() as conn:
        deleted = purge_expired(conn, metadata, DEFAULT_POLICIES, T0 + timedelta(days=91))
    assert deleted["risk_observations"] == 1
    assert _rows(engine, risk_observations) == 1


def test_erasure_deletes_the_applicants_rows_and_keeps_the_chain_verifiable(engine: Engine) -> None:
    clock = FixedClock(T0)
    audit = AuditLog(key=AuditKey(bytes(32)), clock=clock)
    _observe(engine, clock, "app-1")
    _observe(engine, clock, "app-2")
    with engine.begin() as conn:
        conn.execute(
            identity_freezes.insert().values(
                freeze_id="frz_1", applicant_id="app-1", origin="consumer", reason="r", frozen_at=T0, frozen_by="app-1"
            )
        )
        audit.append(conn, _entry())
    sealer = AuditSealer(engine=engine, key=audit.key, signer=lambda: CheckpointSigner(KEY, "a1"), clock=clock)
    assert sealer.drain() == 1
    with engine.begin() as conn:
        deleted = erase_applicant(
            conn,
            metadata,
            DEFAULT_TARGETS,
            applicant_id="app-1",
            blind_indexes=[INDEX.applicant("app-1")],
            audit=audit,
            actor=Actor("dpo", "privacy_officer"),
        )
    assert deleted == {"risk_observations": 1}
    assert _rows(engine, risk_observations) == 1
    assert _rows(engine, identity_freezes) == 1, "erasure must not lift a freeze"
    assert _rows(engine, audit_entries) == 2
    assert sealer.drain() == 1
    assert verify_chain(engine, audit.key, {"a1": KEY.public_key()}).ok


def _entry() -> AuditEntry:
    return AuditEntry(Actor("app-1", "applicant"), "identity.freeze", "applicant", "app-1", "ok")
