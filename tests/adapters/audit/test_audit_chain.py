"""The audit trail on SQLite and PostgreSQL: appends in the action's transaction that never queue on each other,
a keyed chain sealed a moment later, and tampering by someone who can write every table but does not hold the
audit key found and named: edited, deleted, inserted and reordered entries, the newest ones included."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, text

from idverify.audit import (
    Actor,
    AuditEntry,
    AuditKey,
    AuditLog,
    AuditSealer,
    ChainReport,
    Checkpoint,
    CheckpointSigner,
    read_exported,
    verify_chain,
)
from idverify.audit.entry import chain_link
from idverify.domain.errors import FailedPrecondition
from idverify.storage import tables_audit
from idverify.storage.engine import make_engine
from idverify.storage.tables import metadata
from tests.conftest import postgres_schema
from tests.fakes import FixedClock

KEY = AuditKey(bytes(range(32)))
WRONG_KEY = AuditKey(bytes(range(1, 33)))
SIGNING = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = {"audit-1": SIGNING.public_key()}


def _log(key: AuditKey = KEY) -> AuditLog:
    return AuditLog(key=key, clock=FixedClock())


def _sealer(engine: Engine, exported: list[Checkpoint] | None = None, key: AuditKey = KEY) -> AuditSealer:
    sink = exported if exported is not None else []
    return AuditSealer(engine=engine, key=key, signer=lambda: CheckpointSigner(SIGNING, "audit-1"),
                       clock=FixedClock(), export=sink.append, batch_size=7, store_every_s=0)


def _entry(i: int) -> AuditEntry:
    return AuditEntry(actor=Actor("lender-a", "lender_backend"), action="verification.start", object_type="session",
                      object_id=f"ses_{i}", outcome="ok", details={"i": i})


def _fill(engine: Engine, n: int, log: AuditLog | None = None) -> None:
    log = log or _log()
    for i in range(n):
        with engine.begin() as conn:
            log.append(conn, _entry(i))


def _sealed(engine: Engine, n: int, exported: list[Checkpoint] | None = None) -> list[Checkpoint]:
    sink = exported if exported is not None else []
    _fill(engine, n)
    _sealer(engine, sink).drain()
    return sink


def _verify(engine: Engine, exported: list[Checkpoint] | None = None) -> ChainReport:
    return verify_chain(engine, KEY, PUBLIC, exported=exported or ())


def _sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(text(table))).scalar_one())


def _where(report: ChainReport) -> tuple[object, ...]:
    return (report.ok, report.problem, report.first_bad_seq, report.position)


def test_sealed_chain_verifies_and_each_round_exports_a_signed_checkpoint(engine: Engine) -> None:
    exported = _sealed(engine, 10)
    report = _verify(engine, exported)
    assert (report.ok, report.entries_checked, report.unsealed) == (True, 10, 0)
    assert [cp.position for cp in exported] == [7, 10]  # batch size 7: two rounds
    assert report.checkpoints_checked == 4  # two stored, two exported


def test_entries_not_yet_sealed_verify_by_their_mac(engine: Engine) -> None:
    _fill(engine, 3)
    report = _verify(engine)
    assert (report.ok, report.entries_checked, report.unsealed) == (True, 3, 3)


def test_the_database_keeps_one_checkpoint_a_minute_and_the_log_gets_every_one(engine: Engine) -> None:
    clock, exported = FixedClock(), []
    sealer = AuditSealer(engine=engine, key=KEY, signer=lambda: CheckpointSigner(SIGNING, "audit-1"), clock=clock,
                         export=exported.append)
    for _ in range(4):
        _fill(engine, 2)
        sealer.seal_once()
        clock.advance(seconds=20)
    assert [cp.position for cp in exported] == [2, 4, 6, 8]
    with engine.connect() as conn:
        stored = conn.execute(select(tables_audit.audit_checkpoints.c.position)).scalars().all()
    assert sorted(stored) == [2, 8]
    assert _verify(engine, exported).ok


def test_stored_checkpoints_are_published_in_the_sealing_transaction(engine: Engine) -> None:
    published: list[tuple[bool, int]] = []
    sealer = AuditSealer(engine=engine, key=KEY, signer=lambda: CheckpointSigner(SIGNING, "audit-1"),
                         clock=FixedClock(), export=[].append,
                         publish=lambda conn, cp: published.append((conn.in_transaction(), cp.position)))
    _fill(engine, 3)
    sealer.seal_once()
    _fill(engine, 1)
    sealer.seal_once()  # within the minute: exported to the log only
    assert published == [(True, 3)]


def test_empty_trail_verifies(engine: Engine) -> None:
    assert _verify(engine).ok
    assert _sealer(engine).drain() == 0


def test_append_in_rolled_back_transaction_leaves_no_entry(engine: Engine) -> None:
    _fill(engine, 2)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        _log().append(conn, _entry(99))
        raise RuntimeError("the action failed")
    assert _count(engine, "audit_entries") == 2
    _sealer(engine).drain()
    assert _verify(engine).ok


def test_append_outside_a_transaction_is_refused(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(FailedPrecondition) as err:
        _log().append(conn, _entry(1))
    assert err.value.code == "audit_no_transaction"


def test_eight_concurrent_appenders_and_two_sealers_yield_one_chain(engine: Engine) -> None:
    log, errors = _log(), []
    sealers = [_sealer(engine), _sealer(engine)]
    for sealer in sealers:
        sealer.start(interval_s=0.005)

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
    for sealer in sealers:
        sealer.stop()
    assert errors == []
    report = _verify(engine)
    assert (report.ok, report.entries_checked, report.unsealed) == (True, 48, 0)
    with engine.connect() as conn:
        chain = conn.execute(select(tables_audit.audit_chain.c.position, tables_audit.audit_chain.c.entry_seq)
                             .order_by(tables_audit.audit_chain.c.position)).all()
    assert [p for p, _ in chain] == list(range(1, 49))
    assert len({s for _, s in chain}) == 48


def test_editing_a_sealed_entry_is_named(engine: Engine) -> None:
    _sealed(engine, 10)
    _sql(engine, "UPDATE audit_entries SET outcome = 'refused' WHERE seq = 6")
    assert _where(_verify(engine)) == (False, "edited", 6, 6)


@pytest.mark.parametrize("recompute", ["sha256", "other_key"])
def test_editing_an_entry_and_rewriting_its_hash_without_the_key_is_named(engine: Engine, recompute: str) -> None:
    _sealed(engine, 10)
    forged = hashlib.sha256(b"refused").hexdigest() if recompute == "sha256" else WRONG_KEY.mac(b"x", b"refused")
    _sql(engine, f"UPDATE audit_entries SET outcome = 'refused', entry_hash = '{forged}' WHERE seq = 10")
    assert _where(_verify(engine)) == (False, "edited", 10, 10)


def test_editing_the_newest_entry_before_it_is_sealed_is_named_and_never_sealed(engine: Engine) -> None:
    _sealed(engine, 5)
    _fill(engine, 1)
    newest = _count(engine, "audit_entries")
    _sql(engine, f"UPDATE audit_entries SET outcome = 'refused', entry_hash = '{'ab' * 32}' WHERE seq = {newest}")
    assert _where(_verify(engine)) == (False, "edited", newest, None)
    result = _sealer(engine).seal_once()
    assert (result.sealed, result.unauthentic) == (0, (newest,))
    assert _where(_verify(engine)) == (False, "edited", newest, None)


def test_deleting_a_sealed_entry_is_named(engine: Engine) -> None:
    _sealed(engine, 10)
    _sql(engine, "DELETE FROM audit_entries WHERE seq = 5")
    assert _where(_verify(engine)) == (False, "deleted", 5, 5)


def test_deleting_an_entry_and_its_link_is_named_by_position(engine: Engine) -> None:
    _sealed(engine, 10)
    _sql(engine, "DELETE FROM audit_entries WHERE seq = 5", "DELETE FROM audit_chain WHERE position = 5")
    assert _where(_verify(engine)) == (False, "deleted", None, 5)


def test_deleting_an_entry_and_renumbering_the_chain_is_named(engine: Engine) -> None:
    _sealed(engine, 10)
    _sql(engine, "DELETE FROM audit_entries WHERE seq = 5", "DELETE FROM audit_chain WHERE position = 5",
         "UPDATE audit_chain SET position = position - 1 WHERE position > 5")
    assert _where(_verify(engine)) == (False, "deleted", None, 5)


def test_deleting_the_newest_entries_and_rewinding_the_head_is_caught_by_checkpoints(engine: Engine) -> None:
    exported = _sealed(engine, 10)
    with engine.connect() as conn:
        seven = conn.execute(select(tables_audit.audit_chain.c.chain_hash)
                             .where(tables_audit.audit_chain.c.position == 7)).scalar_one()
    # Someone who can write every table removes the newest entries and everything that points at them.
    _sql(engine, "DELETE FROM audit_entries WHERE seq > 7", "DELETE FROM audit_chain WHERE position > 7",
         f"UPDATE audit_chain_head SET position = 7, chain_hash = '{seven}', max_entry_seq = 7")
    assert _where(_verify(engine)) == (False, "deleted", None, 8)  # the stored checkpoint at 10 still says so
    _sql(engine, "DELETE FROM audit_checkpoints WHERE position > 7")
    assert _verify(engine).ok  # the database alone can no longer tell ...
    assert _where(_verify(engine, exported)) == (False, "deleted", None, 8)  # ... the exported checkpoints can


def test_inserting_an_entry_without_the_key_is_named(engine: Engine) -> None:
    _sealed(engine, 4)
    _sql(engine, "INSERT INTO audit_entries (entry_id, at, actor_id, actor_role, action, object_type, object_id, "
                 "outcome, reason_code, purpose, details, entry_hash) VALUES ('x1', '2026-11-01 09:00:00.000000', "
                 "'staff-9', 'admin', 'case.resolve', 'case', 'case_1', 'ok', '', '', '{}', "
                 f"'{'cd' * 32}')")
    report = _verify(engine)
    assert _where(report) == (False, "inserted", 5, None)
    assert _sealer(engine).seal_once().unauthentic == (5,)


def test_copying_an_entry_is_named(engine: Engine) -> None:
    _sealed(engine, 3)
    _sql(engine, "INSERT INTO audit_entries (entry_id, at, actor_id, actor_role, action, object_type, object_id, "
                 "outcome, reason_code, purpose, details, entry_hash) SELECT entry_id, at, actor_id, actor_role, "
                 "action, object_type, object_id, outcome, reason_code, purpose, details, entry_hash "
                 "FROM audit_entries WHERE seq = 2")
    assert _where(_verify(engine)) == (False, "inserted", 4, None)
    _sealer(engine).drain()  # sealed or not, the copy is named
    assert _where(_verify(engine)) == (False, "inserted", 4, None)


def test_inserting_an_entry_into_the_chain_is_named(engine: Engine) -> None:
    _sealed(engine, 10)
    with engine.connect() as conn:
        four = conn.execute(select(tables_audit.audit_chain.c.chain_hash)
                            .where(tables_audit.audit_chain.c.position == 4)).scalar_one()
    _sql(engine, "UPDATE audit_chain SET position = position + 1000 WHERE position > 4",
         "UPDATE audit_chain SET position = position - 999 WHERE position > 1000",
         "INSERT INTO audit_entries (entry_id, at, actor_id, actor_role, action, object_type, object_id, outcome, "
         "reason_code, purpose, details, entry_hash) VALUES ('x2', '2026-11-01 09:00:00.000000', 'staff-9', 'admin', "
         f"'case.resolve', 'case', 'case_1', 'ok', '', '', '{{}}', '{'cd' * 32}')",
         "INSERT INTO audit_chain (position, entry_seq, entry_mac, prev_hash, chain_hash) "
         f"VALUES (5, 11, '{'cd' * 32}', '{four}', '{'ef' * 32}')")
    assert _where(_verify(engine)) == (False, "inserted", 11, 5)


def test_swapping_two_sealed_entries_is_named(engine: Engine) -> None:
    _sealed(engine, 10)
    _sql(engine, "UPDATE audit_entries SET seq = 1000 WHERE seq = 3", "UPDATE audit_entries SET seq = 3 WHERE seq = 4",
         "UPDATE audit_entries SET seq = 4 WHERE seq = 1000")
    assert _where(_verify(engine)) == (False, "reordered", 3, 3)


def test_swapping_two_links_is_named(engine: Engine) -> None:
    _sealed(engine, 10)
    _sql(engine, "UPDATE audit_chain SET position = 1000 WHERE position = 3",
         "UPDATE audit_chain SET position = 3 WHERE position = 4",
         "UPDATE audit_chain SET position = 4 WHERE position = 1000")
    assert _where(_verify(engine)) == (False, "reordered", 4, 3)


def test_a_chain_rebuilt_without_the_key_is_caught(engine: Engine) -> None:
    _sealed(engine, 6)
    _sql(engine, "DELETE FROM audit_chain", "DELETE FROM audit_checkpoints",
         "UPDATE audit_chain_head SET position = 0, chain_hash = '" + "0" * 64 + "', max_entry_seq = 0")
    _sealer(engine, key=WRONG_KEY).drain()  # every entry's MAC fails under another key: nothing gets sealed
    assert _count(engine, "audit_chain") == 0
    _sql(engine, "INSERT INTO audit_chain (position, entry_seq, entry_mac, prev_hash, chain_hash) VALUES "
                 f"(1, 1, (SELECT entry_hash FROM audit_entries WHERE seq = 1), '{'0' * 64}', "
                 f"'{chain_link(WRONG_KEY, position=1, entry_seq=1, entry_mac='', prev_hash='0' * 64)}')")
    assert _where(_verify(engine)) == (False, "inserted", 1, 1)


def test_forged_checkpoint_signature_is_named(engine: Engine) -> None:
    _sealed(engine, 10)
    _sql(engine, "UPDATE audit_checkpoints SET kid = 'other' WHERE position = 7")
    report = _verify(engine)
    assert (report.ok, report.problem, report.position) == (False, "bad_checkpoint_signature", 7)


def test_exported_checkpoints_are_read_back_from_the_log(engine: Engine, tmp_path: Path) -> None:
    exported = _sealed(engine, 10)
    log_file = tmp_path / "idverify.log"
    lines = ['{"event": "rpc", "code": "OK"}', "not json"]
    lines += [json.dumps({"event": "audit_checkpoint", "level": "info", **cp.to_json()}) for cp in exported]
    log_file.write_text("\n".join(lines) + "\n")
    assert read_exported(log_file) == exported
    assert _verify(engine, read_exported(log_file)).ok


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """PostgreSQL only: sequence values committed out of order cannot happen on SQLite (one writer at a time)."""
    base = os.environ.get("IDVERIFY_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("IDVERIFY_TEST_POSTGRES_URL is not set (CI sets it); PostgreSQL-only test skipped")
    with postgres_schema(base) as url:
        eng = make_engine(url)
        metadata.create_all(eng)
        try:
            yield eng
        finally:
            eng.dispose()


def test_an_entry_committed_after_a_later_one_was_sealed_is_swept_into_the_chain(pg_engine: Engine) -> None:
    log = _log()
    slow = pg_engine.connect()
    slow_tx = slow.begin()
    early = log.append(slow, _entry(1))  # takes the lower seq, commits last
    with pg_engine.begin() as conn:
        late = log.append(conn, _entry(2))
    assert early.seq < late.seq
    sealer = AuditSealer(engine=pg_engine, key=KEY, signer=lambda: CheckpointSigner(SIGNING, "audit-1"),
                         clock=FixedClock(), export=[].append, sweep_every=1)
    assert sealer.seal_once().sealed == 1
    slow_tx.commit()
    slow.close()
    assert sealer.seal_once().sealed == 1
    report = _verify(pg_engine)
    assert (report.ok, report.entries_checked, report.unsealed) == (True, 2, 0)
    with pg_engine.connect() as conn:
        order = conn.execute(select(tables_audit.audit_chain.c.entry_seq)
                             .order_by(tables_audit.audit_chain.c.position)).scalars().all()
    assert order == [late.seq, early.seq]
