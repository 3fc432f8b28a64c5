"""The audit chain on SQLite and PostgreSQL: transactional appends, no forks, tampering found where it happened."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, text

from idverify.audit import Actor, AuditEntry, AuditLog, verify_chain
from idverify.audit.entry import SealedEntry, rehash
from idverify.domain.errors import FailedPrecondition
from idverify.storage import tables_audit
from tests.fakes import FixedClock

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYS = {"audit-1": KEY.public_key()}


def _log(every: int = 4) -> AuditLog:
    return AuditLog(signing_key=KEY, kid="audit-1", clock=FixedClock(), checkpoint_every=every)


def _entry(i: int) -> AuditEntry:
    return AuditEntry(
        actor=Actor("lender-a", "lender_backend"),
        action="verification.start",
        object_type="session",
        object_id=f"ses_{i}",
        outcome="ok",
        details={"i": i},
    )


def _fill(engine: Engine, n: int, log: AuditLog | None = None) -> None:
    log = log or _log()
    for i in range(n):
        with engine.begin() as conn:
            log.append(conn, _entry(i))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables_audit.audit_entries)).scalar_one())


def test_intact_chain_verifies(engine: Engine) -> None:
    _fill(engine, 10)
    report = verify_chain(engine, KEYS)
    assert report.ok
    assert report.entries_checked == 10
    assert report.problem is None


def test_empty_chain_verifies(engine: Engine) -> None:
    assert verify_chain(engine, KEYS).ok


def test_append_in_rolled_back_transaction_leaves_no_entry(engine: Engine) -> None:
    _fill(engine, 2)

    def failing_action() -> None:
        with engine.begin() as conn:
            _log().append(conn, _entry(99))
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()
    assert _count(engine) == 2
    _fill(engine, 1)
    assert verify_chain(engine, KEYS).ok


def test_append_outside_a_transaction_is_refused(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(FailedPrecondition) as err:
        _log().append(conn, _entry(1))
    assert err.value.code == "audit_no_transaction"


def test_eight_concurrent_appenders_yield_one_unbroken_chain(engine: Engine) -> None:
    log, errors = _log(every=5), []

    def worker() -> None:
        try:
            _fill(engine, 6, log)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_chain(engine, KEYS)
    assert report.ok
    assert report.entries_checked == 48
    with engine.connect() as conn:
        seqs = conn.execute(select(tables_audit.audit_entries.c.seq).order_by("seq")).scalars().all()
    assert seqs == list(range(1, 49))


def test_editing_one_row_is_detected_at_that_row(engine: Engine) -> None:
    _fill(engine, 10)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET outcome = 'refused' WHERE seq = 6"))
    report = verify_chain(engine, KEYS)
    assert (report.ok, report.first_bad_seq, report.problem, report.entries_checked) == (False, 6, "edited", 5)


def test_editing_a_row_and_recomputing_its_hash_is_detected(engine: Engine) -> None:
    _fill(engine, 10, _log(every=100))
    entries = tables_audit.audit_entries
    with engine.connect() as conn:
        row = conn.execute(select(entries).where(entries.c.seq == 6)).one()
    fields = {k: v for k, v in row._asdict().items() if k != "details"}
    forged = SealedEntry(**{**fields, "outcome": "refused", "details_json": row.details})
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_entries SET outcome = 'refused', entry_hash = :h WHERE seq = 6"), {"h": rehash(forged)}
        )
    report = verify_chain(engine, KEYS)
    assert (report.first_bad_seq, report.problem) == (6, "edited")


def test_deleting_a_middle_row_is_detected(engine: Engine) -> None:
    _fill(engine, 10)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 5"))
    report = verify_chain(engine, KEYS)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 5, "deleted")


def test_deleting_the_last_rows_is_detected(engine: Engine) -> None:
    _fill(engine, 10)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq >= 9"))
    report = verify_chain(engine, KEYS)
    assert (report.first_bad_seq, report.problem) == (9, "deleted")


def test_swapping_two_rows_is_detected(engine: Engine) -> None:
    _fill(engine, 10)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET seq = 1000 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_entries SET seq = 3 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_entries SET seq = 4 WHERE seq = 1000"))
    report = verify_chain(engine, KEYS)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 3, "reordered")


def test_forged_checkpoint_signature_is_detected(engine: Engine) -> None:
    _fill(engine, 10)
    with engine.begin() as conn:
        conn.execute(
            tables_audit.audit_checkpoints.update()
            .where(tables_audit.audit_checkpoints.c.seq == 8)
            .values(signature=Ed25519PrivateKey.generate().sign(b"something else"))
        )
    report = verify_chain(engine, KEYS)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 8, "bad_checkpoint_signature")


def test_checkpoint_from_an_unknown_key_is_refused(engine: Engine) -> None:
    _fill(engine, 4)
    report = verify_chain(engine, {"other": Ed25519PrivateKey.generate().public_key()})
    assert (report.first_bad_seq, report.problem) == (4, "bad_checkpoint_signature")


def test_chain_rewritten_after_a_checkpoint_is_caught_by_the_checkpoint(engine: Engine) -> None:
    """A chain rebuilt with recomputed hashes is self-consistent but no longer matches the signed checkpoint."""
    _fill(engine, 4)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries"))
        conn.execute(text("DELETE FROM audit_chain_head"))
    with engine.begin() as conn:
        for i in range(4):
            _log(every=99).append(conn, _entry(i + 100))
    report = verify_chain(engine, KEYS)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 4, "edited")


def test_on_demand_checkpoint_signs_the_current_head(engine: Engine) -> None:
    _fill(engine, 3, _log(every=100))
    with engine.begin() as conn:
        assert _log().checkpoint(conn) == 3
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables_audit.audit_checkpoints)).scalar_one() == 1
    assert verify_chain(engine, KEYS).ok
