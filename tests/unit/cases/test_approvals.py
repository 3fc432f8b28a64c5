"""Maker-checker rules: each rule has a test that fails if the rule is removed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idverify.cases.approvals import (
    ApplicantKeys,
    ApprovalAction,
    ApprovalRequest,
    ApprovalRules,
    ApprovalStatus,
    StaffLinks,
    StaffMember,
)
from idverify.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
RULES = ApprovalRules()
MAKER, CHECKER = StaffMember("alice", "fraud_analyst"), StaffMember("bob", "fraud_supervisor")
NO_LINKS = StaffLinks()
APPLICANT = ApplicantKeys("app-1", frozenset({"phonekey", "devicekey"}))
UNFREEZE = ApprovalAction.UNFREEZE_IDENTITY


def _request(staff: StaffMember = MAKER, links: StaffLinks = NO_LINKS) -> ApprovalRequest:
    return RULES.request(
        approval_id="apr_1",
        staff=staff,
        links=links,
        applicant=APPLICANT,
        action=UNFREEZE,
        object_id="app-1",
        reason="called in, verified by video",
        now=NOW,
    )


def _approved() -> ApprovalRequest:
    return RULES.decide(_request(), approve=True, staff=CHECKER, links=NO_LINKS, applicant=APPLICANT, now=NOW)


def _use(
    request: ApprovalRequest,
    *,
    staff: StaffMember = MAKER,
    links: StaffLinks = NO_LINKS,
    object_id: str = "app-1",
    now: datetime = NOW,
) -> ApprovalRequest:
    return RULES.use(
        request, action=UNFREEZE, object_id=object_id, staff=staff, links=links, applicant=APPLICANT, now=now
    )


def _code(err: pytest.ExceptionInfo[Exception]) -> str:
    return getattr(err.value, "code", "")


def test_request_approve_use_happy_path() -> None:
    used = _use(_approved())
    assert used.status is ApprovalStatus.USED
    assert (used.requested_by, used.decided_by) == ("alice", "bob")


def test_nobody_approves_their_own_request() -> None:
    with pytest.raises(PermissionDenied) as err:
        RULES.decide(_request(), approve=True, staff=MAKER, links=NO_LINKS, applicant=APPLICANT, now=NOW)
    assert _code(err) == "approval_self_approval"


@pytest.mark.parametrize(
    "links",
    [StaffLinks(related_applicants=frozenset({"app-1"})), StaffLinks(own_keys=frozenset({"devicekey"}))],
    ids=["declared_relation", "shared_device_or_phone"],
)
def test_linked_staff_can_neither_request_approve_nor_use(links: StaffLinks) -> None:
    with pytest.raises(PermissionDenied) as err:
        _request(links=links)
    assert _code(err) == "staff_linked_to_applicant"
    with pytest.raises(PermissionDenied) as err:
        RULES.decide(_request(), approve=True, staff=CHECKER, links=links, applicant=APPLICANT, now=NOW)
    assert _code(err) == "staff_linked_to_applicant"
    with pytest.raises(PermissionDenied) as err:
        _use(_approved(), links=links)
    assert _code(err) == "staff_linked_to_applicant"


def test_staff_cannot_act_on_their_own_applicant_account() -> None:
    with pytest.raises(PermissionDenied) as err:
        _request(staff=StaffMember("app-1", "fraud_analyst"))
    assert _code(err) == "staff_linked_to_applicant"


def test_roles_outside_the_allowed_set_are_refused() -> None:
    with pytest.raises(PermissionDenied) as err:
        _request(staff=StaffMember("carol", "support_agent"))
    assert _code(err) == "staff_role_not_allowed"
    with pytest.raises(PermissionDenied):
        RULES.decide(
            _request(),
            approve=True,
            staff=StaffMember("carol", "support_agent"),
            links=NO_LINKS,
            applicant=APPLICANT,
            now=NOW,
        )


def test_a_reason_is_required() -> None:
    with pytest.raises(InvalidArgument) as err:
        RULES.request(
            approval_id="a",
            staff=MAKER,
            links=NO_LINKS,
            applicant=APPLICANT,
            action=UNFREEZE,
            object_id="app-1",
            reason="  ",
            now=NOW,
        )
    assert _code(err) == "approval_reason_missing"


def test_a_decided_request_cannot_be_decided_again() -> None:
    with pytest.raises(FailedPrecondition) as err:
        RULES.decide(
            _approved(),
            approve=False,
            staff=StaffMember("dan", "fraud_analyst"),
            links=NO_LINKS,
            applicant=APPLICANT,
            now=NOW,
        )
    assert _code(err) == "approval_not_pending"


def test_an_expired_request_cannot_be_approved_or_used() -> None:
    late = NOW + RULES.valid_for
    with pytest.raises(FailedPrecondition) as err:
        RULES.decide(_request(), approve=True, staff=CHECKER, links=NO_LINKS, applicant=APPLICANT, now=late)
    assert _code(err) == "approval_expired"
    with pytest.raises(FailedPrecondition) as err:
        _use(_approved(), now=late)
    assert _code(err) == "approval_expired"


def test_pending_rejected_and_used_requests_cannot_be_used() -> None:
    rejected = RULES.decide(_request(), approve=False, staff=CHECKER, links=NO_LINKS, applicant=APPLICANT, now=NOW)
    for request in (_request(), rejected, _use(_approved())):
        with pytest.raises(FailedPrecondition) as err:
            _use(request)
        assert _code(err) == "approval_not_approved"


def test_an_approval_is_for_one_action_and_object() -> None:
    with pytest.raises(FailedPrecondition) as err:
        _use(_approved(), object_id="app-2")
    assert _code(err) == "approval_mismatch"


def test_only_the_maker_executes() -> None:
    with pytest.raises(PermissionDenied) as err:
        _use(_approved(), staff=CHECKER)
    assert _code(err) == "approval_not_requester"
