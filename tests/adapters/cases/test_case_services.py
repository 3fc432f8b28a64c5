"""Cases, freezes and maker-checker over SQL, with the audit chain and the risk engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, select

from idverify.audit import Actor, AuditKey, AuditLog, verify_chain
from idverify.cases.approval_service import ApprovalService
from idverify.cases.approvals import ApprovalAction, StaffMember
from idverify.cases.freeze import VerificationProof
from idverify.cases.freeze_service import FreezeService
from idverify.cases.model import CaseState
from idverify.cases.repository import RiskObservationApplicantKeys
from idverify.cases.service import CaseService, ReportedVerification
from idverify.domain.errors import FailedPrecondition, IdVerifyError, NotFound, PermissionDenied
from idverify.privacy import BlindIndex, ConfigKeyProvider, FieldCipher, FieldContext
from idverify.risk import RiskEngine, RiskEvent, SqlSignalStore, subject_from_identifiers
from idverify.storage.tables_cases import dispute_cases
from tests.fakes import FixedClock, SeededRandom

KEY = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
INDEX = BlindIndex(b"\x07" * 32)
CIPHER = FieldCipher(ConfigKeyProvider(data_keys={"k1": b"\x01" * 32}, active_kid="k1", index_key=b"\x09" * 32))
ALICE, BOB = StaffMember("alice", "fraud_analyst"), StaffMember("bob", "fraud_supervisor")
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


class FakeSessions:
    def __init__(self) -> None:
        self.proofs: dict[str, VerificationProof] = {}

    def by_reference(self, conn: Connection, reference: str) -> ReportedVerification | None:
        return ReportedVerification("ses_1", "app-1", "loan-1") if reference == "R7K2Q9" else None

    def by_loan_application(self, conn: Connection, loan_application_id: str) -> ReportedVerification | None:
        return ReportedVerification("ses_2", "app-2", loan_application_id) if loan_application_id == "loan-2" else None

    def proof(self, conn: Connection, verification_id: str) -> VerificationProof | None:
        return self.proofs.get(verification_id)


@dataclass
class World:
    engine: Engine
    clock: FixedClock
    sessions: FakeSessions
    cases: CaseService
    freezes: FreezeService
    approvals: ApprovalService


@pytest.fixture
def world(engine: Engine) -> World:
    clock, rnd, sessions = FixedClock(START), SeededRandom(), FakeSessions()
    audit = AuditLog(key=AuditKey(bytes(32)), clock=clock)
    approvals = ApprovalService(
        audit=audit, clock=clock, random=rnd, applicant_keys=RiskObservationApplicantKeys(INDEX)
    )
    freezes = FreezeService(audit=audit, clock=clock, random=rnd, proofs=sessions, approvals=approvals)
    cases = CaseService(
        audit=audit, clock=clock, random=rnd, reported=sessions, freezes=freezes, approvals=approvals, cipher=CIPHER
    )
    return World(engine, clock, sessions, cases, freezes, approvals)


def _report(w: World) -> str:
    with w.engine.begin() as conn:
        case, _ = w.cases.report_unauthorized(
            conn, applicant_id="app-1", channel="app", reference="R7K2Q9", description="我没有申请这笔贷款"
        )
    return case.case_id


def _approved(w: World, action: ApprovalAction, object_id: str, applicant_id: str = "app-1") -> str:
    with w.engine.begin() as conn:
        request = w.approvals.request(
            conn,
            staff=ALICE,
            action=action,
            object_id=object_id,
            applicant_id=applicant_id,
            reason="checked by phone call",
        )
    with w.engine.begin() as conn:
        w.approvals.decide(conn, request.approval_id, staff=BOB, approve=True)
    return request.approval_id


def test_this_was_not_me_opens_a_case_freezes_and_audits(world: World) -> None:
    case_id = _report(world)
    with world.engine.connect() as conn:
        case = world.cases.repo.get(conn, case_id)
        freeze = world.freezes.status(conn, "app-1")
        stored = conn.execute(select(dispute_cases.c.description_enc)).scalar_one()
    assert case.state is CaseState.OPENED
    assert (case.session_id, case.loan_application_id) == ("ses_1", "loan-1")
    assert case.respond_by == START + timedelta(hours=72)
    assert freeze is not None
    assert (freeze.origin, freeze.case_id) == ("case", case_id)
    assert "贷款".encode() not in stored
    assert CIPHER.decrypt_text(stored, FieldContext("dispute_cases", "description", case_id)) == "我没有申请这笔贷款"
    report = verify_chain(world.engine, AuditKey(bytes(32)), {"a1": KEY.public_key()})
    assert report.ok
    assert report.entries_checked == 2


def test_frozen_applicant_is_refused_by_the_risk_engine(world: World) -> None:
    _report(world)
    risk = RiskEngine(store=SqlSignalStore(), clock=world.clock, freezes=world.freezes.repo)
    subject = subject_from_identifiers(INDEX, tenant="t", applicant_id="app-1", device_id="d1")
    with world.engine.begin() as conn:
        decision = risk.evaluate(conn, RiskEvent("start", subject, "ses_3"))
    assert (decision.outcome, decision.reason_codes) == ("refuse", ("identity_frozen",))


def test_freeze_by_id_number_refuses_a_new_account_with_the_same_identity(world: World) -> None:
    identity = INDEX.id_number("11010519491231002X")
    with world.engine.begin() as conn:
        world.freezes.freeze(
            conn,
            applicant_id="app-1",
            origin="consumer",
            actor=Actor("app-1", "applicant"),
            reason="consumer_request",
            identity_key=identity,
        )
    risk = RiskEngine(store=SqlSignalStore(), clock=world.clock, freezes=world.freezes.repo)
    other = subject_from_identifiers(INDEX, tenant="t", applicant_id="app-99", id_number="11010519491231002x")
    with world.engine.begin() as conn:
        assert risk.evaluate(conn, RiskEvent("factor", other, "s", factor="document", factor_passed=True)).outcome == (
            "refuse"
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "code"),
    [
        ({"reference": "NOPE"}, NotFound, "case_subject_unknown"),
        ({"loan_application_id": "loan-2"}, PermissionDenied, "case_subject_mismatch"),
    ],
)
def test_report_must_name_the_reporters_own_verification(
    world: World, kwargs: dict[str, str], error: type[IdVerifyError], code: str
) -> None:
    with pytest.raises(error) as err, world.engine.begin() as conn:
        world.cases.report_unauthorized(conn, applicant_id="app-1", channel="app", **kwargs)
    assert err.value.code == code
    with world.engine.connect() as conn:
        assert world.freezes.status(conn, "app-1") is None


def test_consumer_unfreezes_once_with_a_fresh_high_assurance_verification(world: World) -> None:
    _report(world)
    world.clock.advance(minutes=30)
    world.sessions.proofs["ses_9"] = VerificationProof("ses_9", "app-1", True, True, world.clock.now())
    world.clock.advance(minutes=2)
    with world.engine.begin() as conn:
        lifted = world.freezes.unfreeze_by_consumer(conn, applicant_id="app-1", verification_id="ses_9")
    assert lifted.lift_basis == "verification:ses_9"
    with world.engine.begin() as conn:
        world.freezes.freeze(
            conn, applicant_id="app-1", origin="consumer", actor=Actor("app-1", "applicant"), reason="again"
        )
    world.clock.advance(seconds=1)
    world.sessions.proofs["ses_9"] = VerificationProof("ses_9", "app-1", True, True, world.clock.now())
    with pytest.raises(FailedPrecondition) as err, world.engine.begin() as conn:
        world.freezes.unfreeze_by_consumer(conn, applicant_id="app-1", verification_id="ses_9")
    assert err.value.code == "unfreeze_verification_used"


def test_staff_unfreeze_needs_an_approval_from_someone_else(world: World) -> None:
    _report(world)
    with pytest.raises(FailedPrecondition) as err, world.engine.begin() as conn:
        world.freezes.unfreeze_by_staff(conn, applicant_id="app-1", staff=ALICE, approval_id="")
    assert err.value.code == "approval_required"
    approval_id = _approved(world, ApprovalAction.UNFREEZE_IDENTITY, "app-1")
    with world.engine.begin() as conn:
        world.freezes.unfreeze_by_staff(conn, applicant_id="app-1", staff=ALICE, approval_id=approval_id)
        assert world.freezes.status(conn, "app-1") is None
    with world.engine.begin() as conn:
        world.freezes.freeze(
            conn, applicant_id="app-1", origin="staff", actor=Actor("alice", "fraud_analyst"), reason="again"
        )
    with pytest.raises(FailedPrecondition) as err, world.engine.begin() as conn:
        world.freezes.unfreeze_by_staff(conn, applicant_id="app-1", staff=ALICE, approval_id=approval_id)
    assert err.value.code == "approval_not_approved"


def test_self_approval_is_refused_over_sql(world: World) -> None:
    with world.engine.begin() as conn:
        request = world.approvals.request(
            conn,
            staff=ALICE,
            action=ApprovalAction.UNFREEZE_IDENTITY,
            object_id="app-1",
            applicant_id="app-1",
            reason="r",
        )
    with pytest.raises(PermissionDenied) as err, world.engine.begin() as conn:
        world.approvals.decide(conn, request.approval_id, staff=ALICE, approve=True)
    assert err.value.code == "approval_self_approval"


def test_staff_whose_own_device_the_applicant_used_cannot_act(world: World) -> None:
    risk = RiskEngine(store=SqlSignalStore(), clock=world.clock)
    subject = subject_from_identifiers(INDEX, tenant="t", applicant_id="app-1", device_id="bobs-phone")
    with world.engine.begin() as conn:
        risk.evaluate(conn, RiskEvent("start", subject, "ses_1"))
        world.approvals.staff.register_key(conn, staff_id="bob", key=INDEX.device("bobs-phone"), kind="device")
    with world.engine.begin() as conn:
        request = world.approvals.request(
            conn,
            staff=ALICE,
            action=ApprovalAction.UNFREEZE_IDENTITY,
            object_id="app-1",
            applicant_id="app-1",
            reason="r",
        )
    with pytest.raises(PermissionDenied) as err, world.engine.begin() as conn:
        world.approvals.decide(conn, request.approval_id, staff=BOB, approve=True)
    assert err.value.code == "staff_linked_to_applicant"


def test_declared_relation_bars_investigating(world: World) -> None:
    case_id = _report(world)
    with world.engine.begin() as conn:
        world.approvals.staff.declare_relation(
            conn, staff_id="alice", applicant_id="app-1", relation="family", now=START
        )
    with pytest.raises(PermissionDenied) as err, world.engine.begin() as conn:
        world.cases.start_investigation(conn, case_id, staff=ALICE)
    assert err.value.code == "staff_linked_to_applicant"


def test_resolving_against_the_applicant_needs_maker_checker(world: World) -> None:
    case_id = _report(world)
    with world.engine.begin() as conn:
        world.cases.start_investigation(conn, case_id, staff=ALICE)
    with pytest.raises(FailedPrecondition) as err, world.engine.begin() as conn:
        world.cases.resolve(conn, case_id, staff=ALICE, fraud_confirmed=False, outcome="no_action")
    assert err.value.code == "approval_required"
    with world.engine.begin() as conn:
        pending = world.approvals.request(
            conn,
            staff=ALICE,
            action=ApprovalAction.RESOLVE_CASE_NOT_FRAUD,
            object_id=case_id,
            applicant_id="app-1",
            reason="documents check out",
        )
    with pytest.raises(FailedPrecondition) as err, world.engine.begin() as conn:
        world.cases.resolve(
            conn, case_id, staff=ALICE, fraud_confirmed=False, outcome="no_action", approval_id=pending.approval_id
        )
    assert err.value.code == "approval_not_approved"
    approval_id = _approved(world, ApprovalAction.RESOLVE_CASE_NOT_FRAUD, case_id)
    with world.engine.begin() as conn:
        case = world.cases.resolve(
            conn, case_id, staff=ALICE, fraud_confirmed=False, outcome="no_action", approval_id=approval_id
        )
    assert (case.state, case.decided_by, case.approval_id) == (CaseState.RESOLVED_NOT_FRAUD, "alice", approval_id)
    assert verify_chain(world.engine, AuditKey(bytes(32)), {"a1": KEY.public_key()}).ok


def test_fraud_confirmed_needs_no_second_person(world: World) -> None:
    case_id = _report(world)
    with world.engine.begin() as conn:
        world.cases.start_investigation(conn, case_id, staff=ALICE)
        case = world.cases.resolve(conn, case_id, staff=ALICE, fraud_confirmed=True, outcome="loan_cancelled")
    assert case.state is CaseState.RESOLVED_FRAUD_CONFIRMED


def test_staff_reads_need_a_purpose(world: World) -> None:
    case_id = _report(world)
    with pytest.raises(IdVerifyError) as err, world.engine.begin() as conn:
        world.cases.get_case(conn, case_id, staff=BOB, purpose=" ")
    assert err.value.code == "purpose_required"
    with world.engine.begin() as conn:
        world.cases.get_case(conn, case_id, staff=BOB, purpose="customer called about case")


def test_overdue_cases_are_listed_after_the_deadline(world: World) -> None:
    case_id = _report(world)
    with world.engine.connect() as conn:
        assert world.cases.overdue(conn) == []
    world.clock.advance(hours=73)
    with world.engine.connect() as conn:
        assert world.cases.overdue(conn) == [case_id]
