"""The console's lists and staff sessions over SQL, on SQLite and the real PostgreSQL: keyset pages that neither
skip nor repeat, the filters, the audit of each read, and sessions that expire and end on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import Engine, insert, select

from idverify.audit import Actor, AuditEntry, AuditKey, AuditLog
from idverify.domain.errors import InvalidArgument, Unauthenticated
from idverify.factors.totp import TotpService, totp_at
from idverify.privacy import ConfigKeyProvider, FieldCipher
from idverify.staff.authenticators import SqlStaffTotpStore, StaffLockoutCounters
from idverify.staff.reads import StaffReads
from idverify.staff.sessions import StaffSessions
from idverify.storage.counters import SqlCounterStore
from idverify.storage.tables_audit import audit_entries
from idverify.storage.tables_cases import approval_requests, dispute_cases
from idverify.storage.tables_console import staff_sessions, staff_totp_credentials
from tests.fakes import FixedClock, SeededRandom

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ANNA = Actor("anna", "support")
CIPHER = FieldCipher(ConfigKeyProvider(data_keys={"k1": b"\x01" * 32}, active_kid="k1", index_key=b"\x09" * 32))


def _case(i: int, state: str, respond_in_h: int, applicant: str = "acct-1") -> dict[str, object]:
    return {"case_id": f"case_{i:02d}", "state": state, "applicant_id": applicant, "reference": None,
            "loan_application_id": None, "session_id": None, "channel": "app", "description_enc": None,
            "opened_at": NOW - timedelta(days=1), "respond_by": NOW + timedelta(hours=respond_in_h),
            "investigator": None, "closed_at": None, "outcome": None, "decided_by": None, "approval_id": None,
            "version": 1}


@pytest.fixture
def reads(engine: Engine) -> StaffReads:
    return StaffReads(engine=engine, audit=AuditLog(key=AuditKey(bytes(32)), clock=FixedClock(NOW)),
                      clock=FixedClock(NOW))


def _audited(engine: Engine, action: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_entries.c.actor_id, audit_entries.c.purpose, audit_entries.c.details)
                            .where(audit_entries.c.action == action).order_by(audit_entries.c.seq))
        return [tuple(r) for r in rows]


def test_the_case_queue_pages_by_deadline_without_gaps_or_repeats(engine: Engine, reads: StaffReads) -> None:
    rows = [_case(i, "opened" if i % 3 else "investigating", respond_in_h=(i * 7) % 11 - 5) for i in range(8)]
    rows += [_case(8, "resolved_fraud_confirmed", -20), _case(9, "opened", 30, applicant="acct-2")]
    rows[1]["respond_by"] = rows[2]["respond_by"]  # a tie on the deadline is ordered by case id
    with engine.begin() as conn:
        conn.execute(insert(dispute_cases), rows)
    seen, token = [], ""
    while True:
        page = reads.list_cases(actor=ANNA, state="open", overdue_only=False, applicant_id="", size=3, token=token,
                                purpose="case_queue")
        seen += [(c.respond_by, c.case_id) for c in page.items]
        token = page.next_token
        if not token:
            break
    assert seen == sorted((r["respond_by"], r["case_id"]) for r in rows if r["state"] in ("opened", "investigating"))
    overdue = reads.list_cases(actor=ANNA, state="open", overdue_only=True, applicant_id="", size=50, token="",
                               purpose="p").items
    assert overdue and all(c.respond_by < NOW and c.state.value != "resolved_fraud_confirmed" for c in overdue)
    mine = reads.list_cases(actor=ANNA, state="all", overdue_only=False, applicant_id="acct-2", size=50, token="",
                            purpose="p").items
    assert [c.case_id for c in mine] == ["case_09"]
    assert [c.case_id for c in reads.list_cases(actor=ANNA, state="resolved_fraud_confirmed", overdue_only=False,
                                                applicant_id="", size=50, token="", purpose="p").items] == ["case_08"]
    for bad in ("garbage", "Zm9v"):
        with pytest.raises(InvalidArgument, match="page token"):
            reads.list_cases(actor=ANNA, state="open", overdue_only=False, applicant_id="", size=3, token=bad,
                             purpose="p")
    with pytest.raises(InvalidArgument):
        reads.list_cases(actor=ANNA, state="nonsense", overdue_only=False, applicant_id="", size=3, token="",
                         purpose="p")
    listed = _audited(engine, "cases.listed")
    assert listed[0][:2] == ("anna", "case_queue") and len(listed) == 6  # every successful read, none refused


def test_the_inbox_shows_other_staff_members_live_pending_requests(engine: Engine, reads: StaffReads) -> None:
    def approval(i: int, by: str, status: str = "pending", expires_in_h: int = 24) -> dict[str, object]:
        return {"approval_id": f"apr_{i:02d}", "action": "unfreeze_identity", "object_id": "acct-1",
                "applicant_id": "acct-1", "reason": "r", "requested_by": by,
                "requested_at": NOW - timedelta(minutes=i), "expires_at": NOW + timedelta(hours=expires_in_h),
                "status": status, "decided_by": None, "decided_at": None, "used_at": None}

    with engine.begin() as conn:
        conn.execute(insert(approval_requests), [
            approval(1, "bob"), approval(2, "anna"), approval(3, "carl", "approved"), approval(4, "bob", "pending", -1),
            approval(5, "dora"), approval(6, "erin")])
    to_decide, token = [], ""
    while True:
        page = reads.list_approvals(actor=ANNA, scope="to_decide", status="", size=2, token=token)
        to_decide += [a.approval_id for a in page.items]
        token = page.next_token
        if not token:
            break
    assert to_decide == ["apr_01", "apr_05", "apr_06"]  # newest first; not her own, not decided, not expired
    assert [a.approval_id for a in reads.list_approvals(actor=ANNA, scope="mine", status="", size=9, token="").items
            ] == ["apr_02"]
    assert [a.approval_id for a in reads.list_approvals(actor=ANNA, scope="all", status="approved", size=9,
                                                        token="").items] == ["apr_03"]
    with pytest.raises(InvalidArgument):
        reads.list_approvals(actor=ANNA, scope="everything", status="", size=9, token="")


def test_audit_search_pages_newest_first_and_records_itself(engine: Engine, reads: StaffReads) -> None:
    log = AuditLog(key=AuditKey(bytes(32)), clock=FixedClock(NOW))
    with engine.begin() as conn:
        for i in range(7):
            log.append(conn, AuditEntry(actor=Actor("bob" if i % 2 else "carl", "admin"),
                                        action="approval.approve" if i == 3 else "case.read",
                                        object_type="case", object_id=f"case_{i % 3}", outcome="ok"))
    first, before = reads.search_audit(actor=ANNA, purpose="review 1", object_id="", actor_id="", action="case.read",
                                       before_seq=0, size=4)
    second, end = reads.search_audit(actor=ANNA, purpose="review 1", object_id="", actor_id="", action="case.read",
                                     before_seq=before, size=4)
    seqs = [r["seq"] for r in first + second]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 6 and end == 0
    assert all(r["action"] == "case.read" for r in first + second)
    by_bob, _ = reads.search_audit(actor=ANNA, purpose="review 2", object_id="case_1", actor_id="bob", action="",
                                   before_seq=0, size=50)
    assert {(r["actor_id"], r["object_id"]) for r in by_bob} == {("bob", "case_1")}
    assert [(a, p) for a, p, _d in _audited(engine, "audit.searched")] == [
        ("anna", "review 1"), ("anna", "review 1"), ("anna", "review 2")]


def test_staff_sessions_expire_end_and_keep_only_digests(engine: Engine) -> None:
    clock = FixedClock(NOW)
    audit = AuditLog(key=AuditKey(bytes(32)), clock=clock)
    totp = TotpService(store=SqlStaffTotpStore(engine, CIPHER), counters=StaffLockoutCounters(SqlCounterStore(engine)),
                       clock=clock, random=SeededRandom())
    sessions = StaffSessions(engine=engine, audit=audit, clock=clock, random=SeededRandom(3), totp=totp,
                             lifetime=timedelta(minutes=15))
    secret = pyotp.parse_uri(sessions.enroll_totp(ANNA)).byte_secret()
    with engine.connect() as conn:
        sealed = conn.execute(select(staff_totp_credentials.c.sealed_secret)).scalar_one()
    assert secret not in bytes(sealed)
    code = totp_at(secret, int(NOW.timestamp()) // 30, 6, "sha1")
    session = sessions.start(ANNA, api_key_sha256="ab" * 32, code=code)
    assert sessions.resolve(session.credential).staff_id == "anna" and "idvss_" not in repr(session)
    clock.advance(minutes=15)
    with pytest.raises(Unauthenticated, match="expired"):
        sessions.resolve(session.credential)
    clock.advance(seconds=30)
    later = sessions.start(ANNA, api_key_sha256="ab" * 32, code=totp_at(secret, int(clock.now().timestamp()) // 30,
                                                                        6, "sha1"))
    sessions.end(ANNA, later.credential)
    sessions.end(ANNA, later.credential)  # a second sign-out changes nothing
    with pytest.raises(Unauthenticated, match="not valid"):
        sessions.resolve(later.credential)
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(staff_sessions.c.credential_sha256))]
    assert len(stored) == 2 and all(session.credential not in row[0] for row in stored)
    assert [a for a, _p, _d in _audited(engine, "staff.sign_out")] == ["anna"]
