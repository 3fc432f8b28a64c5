"""The staff console's RPCs (case queue, approvals inbox, audit search, staff sessions), mixed into the Case and
Audit servicers: conversion only, onto :mod:`idverify.staff`."""

from __future__ import annotations

from typing import TypeVar

import grpc

from idverify.api.v1 import audit_pb2, case_pb2
from idverify.audit import Actor
from idverify.cases.approvals import ApprovalRequest
from idverify.cases.model import DisputeCase
from idverify.domain.callers import Caller
from idverify.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from idverify.domain.values import clean_identifier
from idverify.staff.reads import StaffReads, page_size
from idverify.staff.sessions import StaffSessions
from idverify.transport import convert
from idverify.transport.auth import API_KEY_HEADER, AUTHORIZATION_HEADER, STAFF_ROLES, hash_api_key
from idverify.transport.interceptors import current_caller

_T = TypeVar("_T")


def staff_purpose(value: str, *, default: str = "") -> str:
    value = value.strip() or default
    if not value:
        raise InvalidArgument("purpose_missing", "staff reads of personal data need a stated purpose")
    return clean_identifier(value[:256], "purpose", max_length=256)


def case_message(case: DisputeCase, revoked: int = 0) -> case_pb2.Case:
    message = case_pb2.Case(case_id=case.case_id, state=case.state.value, applicant_id=case.applicant_id,
                            session_id=case.session_id or "", opened_at=convert.timestamp(case.opened_at),
                            respond_by=convert.timestamp(case.respond_by), outcome=case.outcome or "",
                            decided_by=case.decided_by or "", revoked_tokens=revoked,
                            investigator=case.investigator or "", channel=case.channel)
    closed = convert.timestamp(case.closed_at) if case.closed_at is not None else None
    if closed is not None:
        message.closed_at.CopyFrom(closed)
    return message


def approval_message(request: ApprovalRequest) -> case_pb2.Approval:
    return case_pb2.Approval(approval_id=request.approval_id, action=request.action.value,
                             object_id=request.object_id, status=request.status.value,
                             requested_by=request.requested_by, decided_by=request.decided_by or "",
                             applicant_id=request.applicant_id, reason=request.reason,
                             requested_at=convert.timestamp(request.requested_at),
                             expires_at=convert.timestamp(request.expires_at))


def _ready(value: _T | None) -> _T:
    if value is None:
        raise FailedPrecondition("staff_console_unavailable", "this deployment has no staff console support")
    return value


def _staff_actor() -> tuple[Caller, Actor]:
    from idverify.transport.case_servicer import actor_of  # case_servicer mixes these methods in

    caller = current_caller()
    if not caller.roles & STAFF_ROLES:
        raise PermissionDenied("role_not_allowed", "this caller's roles do not allow this call")
    return caller, actor_of(caller)


class StaffCaseMethods:
    _reads: StaffReads | None
    _sessions: StaffSessions | None

    def ListCases(self, request: case_pb2.ListCasesRequest, context: grpc.ServicerContext
                  ) -> case_pb2.ListCasesResponse:
        _caller, actor = _staff_actor()
        page = _ready(self._reads).list_cases(
            actor=actor, state=clean_identifier(request.state, "state", max_length=32, required=False),
            overdue_only=request.overdue_only,
            applicant_id=clean_identifier(request.applicant_id, "applicant_id", required=False),
            size=page_size(request.page_size), token=request.page_token[:512],
            purpose=staff_purpose(request.purpose, default="case_queue"))
        return case_pb2.ListCasesResponse(cases=[case_message(c) for c in page.items],
                                          next_page_token=page.next_token)

    def ListApprovals(self, request: case_pb2.ListApprovalsRequest, context: grpc.ServicerContext
                      ) -> case_pb2.ListApprovalsResponse:
        _caller, actor = _staff_actor()
        page = _ready(self._reads).list_approvals(
            actor=actor, scope=clean_identifier(request.scope, "scope", max_length=16, required=False),
            status=clean_identifier(request.status, "status", max_length=16, required=False),
            size=page_size(request.page_size), token=request.page_token[:512])
        return case_pb2.ListApprovalsResponse(approvals=[approval_message(a) for a in page.items],
                                              next_page_token=page.next_token)

    def EnrollStaffTotp(self, request: case_pb2.EnrollStaffTotpRequest, context: grpc.ServicerContext
                        ) -> case_pb2.EnrollStaffTotpResponse:
        caller, actor = _staff_actor()
        if caller.method != "api_key":
            raise PermissionDenied("staff_api_key_required", "enrol with your own API key, not a session")
        return case_pb2.EnrollStaffTotpResponse(provisioning_uri=_ready(self._sessions).enroll_totp(actor))

    def StartStaffSession(self, request: case_pb2.StartStaffSessionRequest, context: grpc.ServicerContext
                          ) -> case_pb2.StartStaffSessionResponse:
        caller, actor = _staff_actor()
        if caller.method != "api_key":
            raise PermissionDenied("staff_api_key_required", "sign in with your own API key and authenticator")
        key = next(v for k, v in context.invocation_metadata() or () if k == API_KEY_HEADER)
        key_text = key.decode(errors="replace") if isinstance(key, bytes) else key
        session = _ready(self._sessions).start(actor, api_key_sha256=hash_api_key(key_text),
                                               code=request.totp_code.strip()[:16])
        return case_pb2.StartStaffSessionResponse(
            session_credential=session.credential, expires_at=convert.timestamp(session.expires_at),
            staff_id=session.staff_id, roles=sorted(r.value for r in caller.roles & STAFF_ROLES))

    def EndStaffSession(self, request: case_pb2.EndStaffSessionRequest, context: grpc.ServicerContext
                        ) -> case_pb2.EndStaffSessionResponse:
        caller, actor = _staff_actor()
        if caller.method != "staff_session":
            raise FailedPrecondition("staff_session_missing", "this call was not made with a staff session")
        value = next(v for k, v in context.invocation_metadata() or () if k == AUTHORIZATION_HEADER)
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        _ready(self._sessions).end(actor, text.partition(" ")[2].strip())
        return case_pb2.EndStaffSessionResponse()


class StaffAuditMethods:
    _reads: StaffReads | None

    def SearchAuditEvents(self, request: audit_pb2.SearchAuditEventsRequest, context: grpc.ServicerContext
                          ) -> audit_pb2.SearchAuditEventsResponse:
        _caller, actor = _staff_actor()
        rows, next_before = _ready(self._reads).search_audit(
            actor=actor, purpose=staff_purpose(request.purpose),
            object_id=clean_identifier(request.object_id, "object_id", required=False),
            actor_id=clean_identifier(request.actor, "actor", required=False),
            action=clean_identifier(request.action, "action", max_length=64, required=False),
            before_seq=max(request.before_seq, 0), size=page_size(request.page_size))
        return audit_pb2.SearchAuditEventsResponse(events=[audit_pb2.AuditEvent(
            seq=r["seq"], at=convert.timestamp(r["at"]), actor=r["actor_id"], action=r["action"],
            object_type=r["object_type"], object_id=r["object_id"], outcome=r["outcome"],
            reason_code=r["reason_code"], purpose=r["purpose"], entry_hash=r["entry_hash"]) for r in rows],
            next_before_seq=next_before)
