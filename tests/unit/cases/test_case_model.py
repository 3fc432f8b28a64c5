"""The dispute-case state machine and the consumer-unfreeze rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from idverify.cases.freeze import Freeze, VerificationProof, check_consumer_unfreeze
from idverify.cases.model import CaseState, DisputeCase, open_case, resolve, start_investigation, withdraw
from idverify.domain.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _opened() -> DisputeCase:
    return open_case(
        case_id="case_1",
        applicant_id="app-1",
        channel="app",
        now=NOW,
        response_window=timedelta(hours=72),
        reference="R7K2Q9",
    )


def _investigating() -> DisputeCase:
    return start_investigation(_opened(), staff_id="analyst-1")


def test_new_case_is_opened_with_a_response_deadline() -> None:
    case = _opened()
    assert case.state is CaseState.OPENED
    assert case.respond_by == NOW + timedelta(hours=72)
    assert not case.overdue(NOW + timedelta(hours=72))
    assert case.overdue(NOW + timedelta(hours=72, seconds=1))


@pytest.mark.parametrize(("reference", "loan"), [(None, None), ("R7K2Q9", "loan-1")])
def test_case_needs_exactly_one_subject(reference: str | None, loan: str | None) -> None:
    with pytest.raises(InvalidArgument) as err:
        open_case(
            case_id="c",
            applicant_id="a",
            channel="app",
            now=NOW,
            response_window=timedelta(hours=1),
            reference=reference,
            loan_application_id=loan,
        )
    assert err.value.code == "case_subject_required"


def test_fraud_confirmed_resolution_records_outcome_and_decider() -> None:
    case = resolve(_investigating(), fraud_confirmed=True, outcome="loan_cancelled", decided_by="analyst-1", now=NOW)
    assert case.state is CaseState.RESOLVED_FRAUD_CONFIRMED
    assert (case.outcome, case.decided_by, case.closed_at) == ("loan_cancelled", "analyst-1", NOW)
    assert not case.overdue(NOW + timedelta(days=30))


def test_not_fraud_resolution_needs_an_approval() -> None:
    with pytest.raises(FailedPrecondition) as err:
        resolve(_investigating(), fraud_confirmed=False, outcome="no_action", decided_by="analyst-1", now=NOW)
    assert err.value.code == "approval_required"
    case = resolve(
        _investigating(), fraud_confirmed=False, outcome="no_action", decided_by="a", now=NOW, approval_id="apr_1"
    )
    assert case.state is CaseState.RESOLVED_NOT_FRAUD


@pytest.mark.parametrize(("fraud", "outcome"), [(True, "no_action"), (False, "loan_cancelled"), (True, "refund")])
def test_outcome_must_fit_the_resolution(fraud: bool, outcome: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        resolve(_investigating(), fraud_confirmed=fraud, outcome=outcome, decided_by="a", now=NOW, approval_id="x")
    assert err.value.code == "case_outcome_invalid"


def test_an_opened_case_cannot_be_resolved_before_investigation() -> None:
    with pytest.raises(FailedPrecondition) as err:
        resolve(_opened(), fraud_confirmed=True, outcome="loan_cancelled", decided_by="a", now=NOW)
    assert err.value.code == "case_not_investigating"


def test_terminal_cases_accept_no_transition() -> None:
    done = withdraw(_opened(), applicant_id="app-1", now=NOW)
    assert done.state is CaseState.WITHDRAWN
    with pytest.raises(FailedPrecondition, match="withdrawn"):
        start_investigation(done, staff_id="a")
    with pytest.raises(FailedPrecondition):
        withdraw(done, applicant_id="app-1", now=NOW)


def test_only_the_reporter_can_withdraw() -> None:
    with pytest.raises(FailedPrecondition) as err:
        withdraw(_opened(), applicant_id="app-2", now=NOW)
    assert err.value.code == "case_not_yours"


FREEZE = Freeze("frz_1", "app-1", "case", "reported", frozen_at=NOW, frozen_by="app-1")
GOOD = VerificationProof("ses_9", "app-1", completed=True, high_assurance=True, completed_at=NOW + timedelta(minutes=1))


def _check(proof: VerificationProof | None, now: datetime = NOW + timedelta(minutes=5)) -> None:
    check_consumer_unfreeze(FREEZE, proof, applicant_id="app-1", now=now, max_age=timedelta(minutes=15))


def test_fresh_high_assurance_verification_unfreezes() -> None:
    _check(GOOD)


@pytest.mark.parametrize(
    ("proof", "now", "code"),
    [
        (None, NOW, "unfreeze_verification_unknown"),
        (replace(GOOD, applicant_id="app-2"), NOW + timedelta(minutes=5), "unfreeze_verification_other_applicant"),
        (replace(GOOD, completed=False), NOW + timedelta(minutes=5), "unfreeze_verification_incomplete"),
        (replace(GOOD, high_assurance=False), NOW + timedelta(minutes=5), "unfreeze_verification_low_assurance"),
        (GOOD, NOW + timedelta(minutes=17), "unfreeze_verification_stale"),
        (replace(GOOD, completed_at=NOW - timedelta(minutes=1)), NOW, "unfreeze_verification_stale"),
    ],
)
def test_consumer_unfreeze_refusals(proof: VerificationProof | None, now: datetime, code: str) -> None:
    with pytest.raises(FailedPrecondition) as err:
        _check(proof, now)
    assert err.value.code == code
