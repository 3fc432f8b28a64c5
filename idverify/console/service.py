"""The console's only way to the service: gRPC stubs called with the signed-in staff member's credential."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import grpc

from idverify.api.v1 import audit_pb2, audit_pb2_grpc, case_pb2, case_pb2_grpc, token_pb2, token_pb2_grpc

REASON_METADATA_KEY = "idverify-reason"


class ServiceError(Exception):
    """A refused call: the gRPC status name and the service's stable reason code."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(status, reason)
        self.status, self.reason = status, reason


class ServiceClient:
    """Stubs on one channel. ``credential`` is a staff session (``Bearer``) or, for sign-in only, an API key."""

    def __init__(self, channel: grpc.Channel, timeout_s: float = 10.0) -> None:
        self._cases = case_pb2_grpc.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        self._audit = audit_pb2_grpc.AuditServiceStub(channel)  # type: ignore[no-untyped-call]
        self._tokens = token_pb2_grpc.TokenServiceStub(channel)  # type: ignore[no-untyped-call]
        self._timeout = timeout_s

    def _call(self, method: Any, request: Any, metadata: Sequence[tuple[str, str]]) -> Any:
        try:
            return method(request, metadata=[*metadata, ("x-request-id", uuid.uuid4().hex)], timeout=self._timeout)
        except grpc.RpcError as err:
            trailing: Any = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
            reason = next((value for key, value in trailing or () if key == REASON_METADATA_KEY), "")
            code = err.code() if hasattr(err, "code") else None
            raise ServiceError(code.name if code is not None else "UNKNOWN",
                               reason if isinstance(reason, str) else "") from None

    # Sign-in: the staff member's own API key, used for these two calls and never kept.
    def enroll_totp(self, api_key: str) -> str:
        response = self._call(self._cases.EnrollStaffTotp, case_pb2.EnrollStaffTotpRequest(), _key(api_key))
        return str(response.provisioning_uri)

    def start_session(self, api_key: str, code: str) -> case_pb2.StartStaffSessionResponse:
        response: case_pb2.StartStaffSessionResponse = self._call(
            self._cases.StartStaffSession, case_pb2.StartStaffSessionRequest(totp_code=code), _key(api_key))
        return response

    def session(self, credential: str) -> StaffCalls:
        return StaffCalls(self, [("authorization", f"Bearer {credential}")])


def _key(api_key: str) -> list[tuple[str, str]]:
    return [("x-api-key", api_key)]


class StaffCalls:
    """Every RPC a page makes, as the signed-in staff member."""

    def __init__(self, client: ServiceClient, metadata: list[tuple[str, str]]) -> None:
        self._client, self._md = client, metadata

    def _call(self, method: Any, request: Any) -> Any:
        return self._client._call(method, request, self._md)

    @property
    def _cases(self) -> case_pb2_grpc.CaseServiceStub:
        return self._client._cases

    def end_session(self) -> None:
        self._call(self._cases.EndStaffSession, case_pb2.EndStaffSessionRequest())

    def list_cases(self, **fields: Any) -> case_pb2.ListCasesResponse:
        response: case_pb2.ListCasesResponse = self._call(self._cases.ListCases, case_pb2.ListCasesRequest(**fields))
        return response

    def get_case(self, case_id: str, purpose: str) -> case_pb2.Case:
        case: case_pb2.Case = self._call(self._cases.GetCase,
                                         case_pb2.GetCaseRequest(case_id=case_id, purpose=purpose)).case
        return case

    def export_evidence(self, case_id: str, purpose: str) -> case_pb2.ExportEvidenceResponse:
        response: case_pb2.ExportEvidenceResponse = self._call(
            self._cases.ExportEvidence, case_pb2.ExportEvidenceRequest(case_id=case_id, purpose=purpose))
        return response

    def resolve_case(self, **fields: Any) -> case_pb2.Case:
        case: case_pb2.Case = self._call(self._cases.ResolveCase, case_pb2.ResolveCaseRequest(**fields)).case
        return case

    def request_approval(self, **fields: Any) -> case_pb2.Approval:
        approval: case_pb2.Approval = self._call(self._cases.RequestApproval,
                                                 case_pb2.RequestApprovalRequest(**fields)).approval
        return approval

    def decide_approval(self, approval_id: str, approve: bool) -> case_pb2.Approval:
        approval: case_pb2.Approval = self._call(
            self._cases.DecideApproval, case_pb2.DecideApprovalRequest(approval_id=approval_id, approve=approve)
        ).approval
        return approval

    def list_approvals(self, **fields: Any) -> case_pb2.ListApprovalsResponse:
        response: case_pb2.ListApprovalsResponse = self._call(self._cases.ListApprovals,
                                                              case_pb2.ListApprovalsRequest(**fields))
        return response

    def freeze(self, applicant_id: str, reason: str) -> case_pb2.IdentityFreeze:
        freeze: case_pb2.IdentityFreeze = self._call(
            self._cases.FreezeIdentity, case_pb2.FreezeIdentityRequest(applicant_id=applicant_id, reason=reason)
        ).freeze
        return freeze

    def unfreeze(self, applicant_id: str, approval_id: str) -> case_pb2.IdentityFreeze:
        freeze: case_pb2.IdentityFreeze = self._call(self._cases.UnfreezeIdentity, case_pb2.UnfreezeIdentityRequest(
            applicant_id=applicant_id, approval_id=approval_id)).freeze
        return freeze

    def declare_staff_links(self, **fields: Any) -> int:
        return int(self._call(self._cases.DeclareStaffLinks, case_pb2.DeclareStaffLinksRequest(**fields)).recorded)

    def search_audit(self, **fields: Any) -> audit_pb2.SearchAuditEventsResponse:
        response: audit_pb2.SearchAuditEventsResponse = self._call(self._client._audit.SearchAuditEvents,
                                                                   audit_pb2.SearchAuditEventsRequest(**fields))
        return response

    def jwks(self) -> str:
        return str(self._call(self._client._tokens.GetJwks, token_pb2.GetJwksRequest()).jwks_json)
