"""Sessions and tokens on SQLite and the real PostgreSQL: round trips, optimistic concurrency, encryption at rest,
and single-use redemption under concurrent callers."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

import idverify.storage.tables  # noqa: F401 - registers every table for the engine fixture
from idverify.domain.errors import Aborted, AlreadyExists, InvalidToken, NotFound
from idverify.domain.repositories import SessionSecrets, TokenRecord
from idverify.domain.session import Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Money, Outcome
from idverify.privacy.cipher import FieldCipher
from idverify.privacy.keys import ConfigKeyProvider
from idverify.privacy.sealing import SealedFields
from idverify.storage.tables_sessions import verification_sessions
from idverify.storage.unit_of_work import SqlUnitOfWork
from tests.fakes import FixedClock

PHONE = "+8613800138000"


@pytest.fixture
def uow(engine: Engine):  # type: ignore[no-untyped-def]
    keys = ConfigKeyProvider(data_keys={"t1": b"k" * 32}, active_kid="t1", index_key=b"i" * 32)
    protector = SealedFields(FieldCipher(keys))
    return lambda: SqlUnitOfWork(engine, protector)


def a_session(clock: FixedClock, sid: str = "vs_1", ref: str = "AAAAA-BBBBB", loan: str = "L-1") -> VerificationSession:
    context = ApplicationContext.create(applicant_id="acct-1", loan_application_id=loan,
                                        amount=Money.parse("12000.50", "CNY"), device_id="d", client_ip="10.0.0.1",
                                        locale="en")
    return VerificationSession(session_id=sid, reference=ref, context=context, status=Status.CREATED,
                               required=(Factor.SMS_OTP, Factor.LIVENESS), created_at=clock.now(),
                               expires_at=clock.now() + timedelta(minutes=15))


def test_a_session_round_trips_with_its_results_and_secrets(uow, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock()
    with uow() as u:
        u.sessions.add(a_session(clock), SessionSecrets(phone_e164=PHONE, payout_account="6222-01"))
    with uow() as u:
        s = u.sessions.get("vs_1")
        s = u.sessions.update(s.record(FactorResult(Factor.SMS_OTP, Outcome.PASSED, "ok", clock.now(), 0.5, 0.4,
                                                    "m1"), clock.now()))
    with uow() as u:
        back = u.sessions.get("vs_1")
        assert back == s
        assert back.context.amount == Money.parse("12000.50", "CNY")
        assert back.results[0].at == clock.now()
        assert u.sessions.secrets("vs_1").phone_e164 == PHONE
        assert u.sessions.find_by_reference("AAAAA-BBBBB") == back
        assert u.sessions.find_open("acct-1", "L-1") == back
    with engine.connect() as conn:
        sealed = conn.execute(select(verification_sessions.c.phone_sealed)).scalar_one()
    assert PHONE.encode() not in sealed and b"13800138000" not in sealed


def test_a_stale_update_is_refused_so_two_replicas_cannot_both_move_a_session(uow) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock()
    with uow() as u:
        u.sessions.add(a_session(clock), SessionSecrets())
    with uow() as u:
        stale = u.sessions.get("vs_1")
    with uow() as u:
        u.sessions.update(stale.cancel(clock.now()))
    with pytest.raises(Aborted), uow() as u:
        u.sessions.update(stale.record(FactorResult(Factor.SMS_OTP, Outcome.PASSED, "ok", clock.now()), clock.now()))
    with uow() as u:
        assert u.sessions.get("vs_1").status is Status.CANCELLED


def test_only_one_open_session_per_loan_application(uow) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock()
    with uow() as u:
        u.sessions.add(a_session(clock), SessionSecrets())
    with pytest.raises(AlreadyExists), uow() as u:
        u.sessions.add(a_session(clock, sid="vs_2", ref="CCCCC-DDDDD"), SessionSecrets())
    with uow() as u:
        first = u.sessions.get("vs_1")
        u.sessions.update(first.cancel(clock.now()))
        u.sessions.add(a_session(clock, sid="vs_2", ref="CCCCC-DDDDD"), SessionSecrets())
    with uow() as u, pytest.raises(NotFound):
        u.sessions.get("vs_missing")


def test_a_rolled_back_unit_of_work_leaves_nothing(uow) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock()
    with pytest.raises(RuntimeError), uow() as u:
        u.sessions.add(a_session(clock), SessionSecrets())
        raise RuntimeError("boom")
    with uow() as u, pytest.raises(NotFound):
        u.sessions.get("vs_1")


def _issue(uow, clock: FixedClock, jti: str = "j1", applicant: str = "acct-1") -> None:  # type: ignore[no-untyped-def]
    with uow() as u:
        if u.sessions.find_by_reference("AAAAA-BBBBB") is None:
            u.sessions.add(a_session(clock), SessionSecrets())
        u.tokens.add(TokenRecord(jti=jti, session_id="vs_1", applicant_id=applicant, issued_at=clock.now(),
                                 expires_at=clock.now() + timedelta(minutes=10)))


def test_concurrent_redemptions_of_one_token_succeed_exactly_once(uow) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock()
    _issue(uow, clock)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem(n: int) -> None:
        barrier.wait()
        try:
            with uow() as u:
                u.tokens.redeem("j1", clock.now(), caller_id=f"lender-{n}", redemption_id=f"rdm_{n}")
            result = "ok"
        except InvalidToken as err:
            result = err.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["token_redeemed"] * 7


def test_one_caller_retrying_a_redemption_gets_the_first_answer_back_and_others_are_refused(uow) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock()
    _issue(uow, clock)
    with uow() as u:
        first = u.tokens.redeem("j1", clock.now(), caller_id="lender", redemption_id="rdm_1")
    clock.advance(5)
    barrier = threading.Barrier(8)
    answers: list[tuple[str, object]] = []
    lock = threading.Lock()

    def retry(n: int) -> None:
        barrier.wait()
        with uow() as u:
            again = u.tokens.redeem("j1", clock.now(), caller_id="lender", redemption_id=f"rdm_retry_{n}")
        with lock:
            answers.append((again.redemption_id, again.redeemed_at))

    threads = [threading.Thread(target=retry, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [("rdm_1", first.redeemed_at)] * 8
    with pytest.raises(InvalidToken) as err, uow() as u:
        u.tokens.redeem("j1", clock.now(), caller_id="someone-else", redemption_id="rdm_x")
    assert err.value.code == "token_redeemed"


def test_revocation_by_applicant_stops_redemption_and_spares_redeemed_tokens(uow) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock()
    _issue(uow, clock, "j1")
    _issue(uow, clock, "j2")
    with uow() as u:
        u.tokens.redeem("j2", clock.now(), caller_id="lender", redemption_id="rdm_2")
    with uow() as u:
        assert u.tokens.revoke(now=clock.now(), reason="dispute", applicant_id="acct-1") == 1
    with pytest.raises(InvalidToken) as err, uow() as u:
        u.tokens.redeem("j1", clock.now(), caller_id="lender", redemption_id="rdm_1")
    assert err.value.code == "token_revoked"
    with uow() as u:
        assert replace(u.tokens.get("j2")).redeemed_at == clock.now()
        assert u.tokens.get("j2").revoked_at is None


def test_two_replicas_redeeming_the_same_token_at_once_succeed_exactly_once(uow, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """Two engines on one database stand for two service replicas behind a load balancer."""
    from idverify.storage.engine import make_engine

    clock = FixedClock()
    _issue(uow, clock)
    keys = ConfigKeyProvider(data_keys={"t1": b"k" * 32}, active_kid="t1", index_key=b"i" * 32)
    protector = SealedFields(FieldCipher(keys))
    replicas = [make_engine(db_url), make_engine(db_url)]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem(n: int) -> None:
        barrier.wait()
        try:
            with SqlUnitOfWork(replicas[n % 2], protector) as u:
                u.tokens.redeem("j1", clock.now(), caller_id=f"lender-{n}", redemption_id=f"rdm_{n}")
            result = "ok"
        except InvalidToken as err:
            result = err.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for engine in replicas:
        engine.dispose()
    assert sorted(outcomes) == ["ok"] + ["token_redeemed"] * 7


def _audited_uow(engine: Engine, *, row_maker: bool = True):  # type: ignore[no-untyped-def]
    """A unit of work with an audit recorder and row maker (as the composition root wires them, minus the key);
    without the row maker, the repository takes the path through SQLAlchemy's statements."""
    from sqlalchemy import insert

    from idverify.storage.tables_audit import audit_entries

    def row(event):  # type: ignore[no-untyped-def]
        return {"entry_id": f"e-{event.object_id}-{event.outcome}", "at": FixedClock().now(), "actor_id": "t",
                "actor_role": "loan_service", "action": event.action, "object_type": event.object_type,
                "object_id": event.object_id, "outcome": event.outcome, "reason_code": event.reason_code,
                "purpose": "", "details": "{}", "entry_hash": "0" * 64}

    def record(conn, event):  # type: ignore[no-untyped-def]
        conn.execute(insert(audit_entries).values(**row(event)))

    keys = ConfigKeyProvider(data_keys={"t1": b"k" * 32}, active_kid="t1", index_key=b"i" * 32)
    return lambda: SqlUnitOfWork(engine, SealedFields(FieldCipher(keys)), record, audit_row=row if row_maker else None)


def test_an_audited_redemption_writes_its_entry_exactly_when_it_redeems(engine: Engine) -> None:
    from idverify.domain.repositories import AuditEvent
    from idverify.storage.tables_audit import audit_entries

    clock, uow = FixedClock(), _audited_uow(engine)
    _issue(uow, clock)
    event = AuditEvent(action="token.redeemed", object_type="token", object_id="j1", outcome="ok")
    with uow() as u:
        done = u.tokens.redeem_if_unfrozen("j1", clock.now(), caller_id="c", redemption_id="r1", record=event)
        assert done is not None and done.redemption_id == "r1" and done.redeemed_at == clock.now()
    with uow() as u:
        assert u.tokens.redeem_if_unfrozen("j1", clock.now(), caller_id="c", redemption_id="r2", record=event) is None
    with engine.connect() as conn:
        assert conn.execute(select(audit_entries.c.object_id, audit_entries.c.outcome)).all() == [("j1", "ok")]


def test_an_audited_redemption_on_a_cut_connection_is_unavailable_and_changes_nothing(engine: Engine) -> None:
    """PostgreSQL runs the audited redemption through psycopg directly (pipeline mode); a connection cut under it
    must still answer UNAVAILABLE storage_unavailable, as every SQLAlchemy statement does, and redeem nothing."""
    from sqlalchemy import text

    from idverify.domain.errors import Unavailable
    from idverify.domain.repositories import AuditEvent

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no connection to cut")
    clock, uow = FixedClock(), _audited_uow(engine)
    _issue(uow, clock)
    event = AuditEvent(action="token.redeemed", object_type="token", object_id="j1", outcome="ok")
    with pytest.raises(Unavailable), uow() as u:
        pid = u.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            killer.commit()
        u.tokens.redeem_if_unfrozen("j1", clock.now(), caller_id="c", redemption_id="r1", record=event)
    with uow() as u:
        assert u.tokens.get("j1").redeemed_at is None  # type: ignore[union-attr]


def _stored(engine: Engine, jti: str) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """A token's row and its audit entries' rows as the database holds them (no SQLAlchemy type processing: on
    SQLite the text of the timestamps), without the columns that name the token or the entry."""
    with engine.connect() as conn:
        token = conn.exec_driver_sql(
            "SELECT session_id, applicant_id, issued_at, expires_at, redeemed_at, revoked_at, revoke_reason, "
            f"redeemed_by FROM issued_tokens WHERE jti = '{jti}'").one()
        entries = conn.exec_driver_sql(
            "SELECT at, actor_id, actor_role, action, object_type, outcome, reason_code, purpose, details, entry_hash "
            f"FROM audit_entries WHERE object_id = '{jti}'").all()
    return tuple(token), tuple(tuple(e) for e in entries)


@pytest.mark.parametrize("at", [FixedClock().now(), FixedClock().now() + timedelta(microseconds=123456)],
                         ids=["whole-second", "microseconds"])
def test_the_audited_redemption_writes_the_rows_sqlalchemy_writes(engine: Engine, at) -> None:  # type: ignore[no-untyped-def]
    """The audited redemption runs on the driver directly (SQLite: two statements; PostgreSQL: one, pipelined).
    Its token row, its audit row and the record it returns must be exactly what the same redemption through
    SQLAlchemy's statements gives (the path taken without a row maker), a whole-second time included (SQLAlchemy
    stores ``.000000`` on SQLite, where the driver's own conversion would not)."""
    from idverify.domain.repositories import AuditEvent

    clock, direct, plain = FixedClock(), _audited_uow(engine), _audited_uow(engine, row_maker=False)
    _issue(direct, clock, "j-direct", applicant="acct-1")
    _issue(direct, clock, "j-plain", applicant="acct-1")
    records = []
    for jti, uow in (("j-direct", direct), ("j-plain", plain)):
        event = AuditEvent(action="token.redeemed", object_type="token", object_id=jti, outcome="ok")
        with uow() as u:
            records.append(u.tokens.redeem_if_unfrozen(jti, at, caller_id="loan-svc", redemption_id=f"r-{jti}",
                                                       record=event))
    fast, slow = records
    assert fast is not None and slow is not None
    assert replace(fast, jti="x", redemption_id="x") == replace(slow, jti="x", redemption_id="x")
    assert fast.redeemed_at == at and fast.redeemed_at.tzinfo is not None
    assert _stored(engine, "j-direct") == _stored(engine, "j-plain")
    token, entries = _stored(engine, "j-direct")
    assert token[4] is not None and len(entries) == 1


def _dbapi_error(error: BaseException) -> BaseException:
    """The SQLAlchemy driver error in ``error``'s chain of causes (the unit of work wraps a lost connection)."""
    from sqlalchemy.exc import DBAPIError

    while not isinstance(error, DBAPIError):
        assert error.__cause__ is not None, error
        error = error.__cause__
    return error


def test_an_audited_redemption_whose_statement_fails_raises_what_sqlalchemy_raises_and_redeems_nothing(
        engine: Engine) -> None:
    """A driver error on the direct path surfaces exactly as the same failure through SQLAlchemy's statements does
    (same exception, same cause class, parameters hidden), so the one error table answers it the same way, and the
    unit of work rolls the redemption back."""
    from sqlalchemy import text

    from idverify.domain.repositories import AuditEvent

    clock, direct, plain = FixedClock(), _audited_uow(engine), _audited_uow(engine, row_maker=False)
    _issue(direct, clock, "j-direct")
    _issue(direct, clock, "j-plain")
    with engine.begin() as conn:  # every audit INSERT now fails
        conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_gone"))
    raised = []
    for jti, uow in (("j-direct", direct), ("j-plain", plain)):
        event = AuditEvent(action="token.redeemed", object_type="token", object_id=jti, outcome="ok")
        with pytest.raises(Exception) as caught, uow() as u:
            u.tokens.redeem_if_unfrozen(jti, clock.now(), caller_id="c", redemption_id=f"r-{jti}", record=event)
        raised.append(caught.value)
    fast, slow = raised
    assert type(fast) is type(slow), (fast, slow)
    cause, slow_cause = _dbapi_error(fast), _dbapi_error(slow)
    assert type(cause) is type(slow_cause) and "audit_entries" in str(cause)
    assert "parameters hidden" in str(cause) and "acct-1" not in str(cause)
    with direct() as u:
        assert u.tokens.get("j-direct").redeemed_at is None  # type: ignore[union-attr]
        assert u.tokens.get("j-plain").redeemed_at is None  # type: ignore[union-attr]
