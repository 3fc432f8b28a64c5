import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportUnauthorizedApplicationRequest(_message.Message):
    __slots__ = ("applicant_id", "reference", "loan_application_id", "channel", "description")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LOAN_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    reference: str
    loan_application_id: str
    channel: str
    description: str
    def __init__(self, applicant_id: _Optional[str] = ..., reference: _Optional[str] = ..., loan_application_id: _Optional[str] = ..., channel: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Case(_message.Message):
    __slots__ = ("case_id", "state", "applicant_id", "session_id", "opened_at", "respond_by", "outcome", "decided_by", "revoked_tokens", "investigator", "closed_at", "channel")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    RESPOND_BY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    REVOKED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INVESTIGATOR_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    state: str
    applicant_id: str
    session_id: str
    opened_at: _timestamp_pb2.Timestamp
    respond_by: _timestamp_pb2.Timestamp
    outcome: str
    decided_by: str
    revoked_tokens: int
    investigator: str
    closed_at: _timestamp_pb2.Timestamp
    channel: str
    def __init__(self, case_id: _Optional[str] = ..., state: _Optional[str] = ..., applicant_id: _Optional[str] = ..., session_id: _Optional[str] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., respond_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[str] = ..., decided_by: _Optional[str] = ..., revoked_tokens: _Optional[int] = ..., investigator: _Optional[str] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[str] = ...) -> None: ...

class GetCaseRequest(_message.Message):
    __slots__ = ("case_id", "purpose")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    purpose: str
    def __init__(self, case_id: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class ResolveCaseRequest(_message.Message):
    __slots__ = ("case_id", "outcome", "fraud_confirmed", "note", "approval_id")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FRAUD_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    outcome: str
    fraud_confirmed: bool
    note: str
    approval_id: str
    def __init__(self, case_id: _Optional[str] = ..., outcome: _Optional[str] = ..., fraud_confirmed: _Optional[bool] = ..., note: _Optional[str] = ..., approval_id: _Optional[str] = ...) -> None: ...

class IdentityFreeze(_message.Message):
    __slots__ = ("applicant_id", "frozen", "since", "reason")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    frozen: bool
    since: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, applicant_id: _Optional[str] = ..., frozen: _Optional[bool] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class FreezeIdentityRequest(_message.Message):
    __slots__ = ("applicant_id", "reason")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    reason: str
    def __init__(self, applicant_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnfreezeIdentityRequest(_message.Message):
    __slots__ = ("applicant_id", "session_id", "approval_id")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    session_id: str
    approval_id: str
    def __init__(self, applicant_id: _Optional[str] = ..., session_id: _Optional[str] = ..., approval_id: _Optional[str] = ...) -> None: ...

class ReportUnauthorizedApplicationResponse(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: Case
    def __init__(self, case: _Optional[_Union[Case, _Mapping]] = ...) -> None: ...

class GetCaseResponse(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: Case
    def __init__(self, case: _Optional[_Union[Case, _Mapping]] = ...) -> None: ...

class ResolveCaseResponse(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: Case
    def __init__(self, case: _Optional[_Union[Case, _Mapping]] = ...) -> None: ...

class FreezeIdentityResponse(_message.Message):
    __slots__ = ("freeze",)
    FREEZE_FIELD_NUMBER: _ClassVar[int]
    freeze: IdentityFreeze
    def __init__(self, freeze: _Optional[_Union[IdentityFreeze, _Mapping]] = ...) -> None: ...

class UnfreezeIdentityResponse(_message.Message):
    __slots__ = ("freeze",)
    FREEZE_FIELD_NUMBER: _ClassVar[int]
    freeze: IdentityFreeze
    def __init__(self, freeze: _Optional[_Union[IdentityFreeze, _Mapping]] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("approval_id", "action", "object_id", "status", "requested_by", "decided_by", "applicant_id", "reason", "requested_at", "expires_at")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    action: str
    object_id: str
    status: str
    requested_by: str
    decided_by: str
    applicant_id: str
    reason: str
    requested_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, approval_id: _Optional[str] = ..., action: _Optional[str] = ..., object_id: _Optional[str] = ..., status: _Optional[str] = ..., requested_by: _Optional[str] = ..., decided_by: _Optional[str] = ..., applicant_id: _Optional[str] = ..., reason: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequestApprovalRequest(_message.Message):
    __slots__ = ("action", "object_id", "applicant_id", "reason")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    action: str
    object_id: str
    applicant_id: str
    reason: str
    def __init__(self, action: _Optional[str] = ..., object_id: _Optional[str] = ..., applicant_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RequestApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class DecideApprovalRequest(_message.Message):
    __slots__ = ("approval_id", "approve")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    approve: bool
    def __init__(self, approval_id: _Optional[str] = ..., approve: _Optional[bool] = ...) -> None: ...

class DecideApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class ExportEvidenceRequest(_message.Message):
    __slots__ = ("case_id", "purpose")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    purpose: str
    def __init__(self, case_id: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class ExportEvidenceResponse(_message.Message):
    __slots__ = ("signed_bundle", "bundle_json")
    SIGNED_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    signed_bundle: str
    bundle_json: str
    def __init__(self, signed_bundle: _Optional[str] = ..., bundle_json: _Optional[str] = ...) -> None: ...

class EraseApplicantDataRequest(_message.Message):
    __slots__ = ("applicant_id", "purpose")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    purpose: str
    def __init__(self, applicant_id: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class EraseApplicantDataResponse(_message.Message):
    __slots__ = ("deleted",)
    class DeletedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: _containers.ScalarMap[str, int]
    def __init__(self, deleted: _Optional[_Mapping[str, int]] = ...) -> None: ...

class DeclareStaffLinksRequest(_message.Message):
    __slots__ = ("staff_id", "related_applicant_ids", "relation", "phones_e164", "device_ids")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    RELATED_APPLICANT_IDS_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    PHONES_E164_FIELD_NUMBER: _ClassVar[int]
    DEVICE_IDS_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    related_applicant_ids: _containers.RepeatedScalarFieldContainer[str]
    relation: str
    phones_e164: _containers.RepeatedScalarFieldContainer[str]
    device_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, staff_id: _Optional[str] = ..., related_applicant_ids: _Optional[_Iterable[str]] = ..., relation: _Optional[str] = ..., phones_e164: _Optional[_Iterable[str]] = ..., device_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DeclareStaffLinksResponse(_message.Message):
    __slots__ = ("recorded",)
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    def __init__(self, recorded: _Optional[int] = ...) -> None: ...

class ListCasesRequest(_message.Message):
    __slots__ = ("state", "overdue_only", "applicant_id", "page_size", "page_token", "purpose")
    STATE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_ONLY_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    state: str
    overdue_only: bool
    applicant_id: str
    page_size: int
    page_token: str
    purpose: str
    def __init__(self, state: _Optional[str] = ..., overdue_only: _Optional[bool] = ..., applicant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class ListCasesResponse(_message.Message):
    __slots__ = ("cases", "next_page_token")
    CASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[Case]
    next_page_token: str
    def __init__(self, cases: _Optional[_Iterable[_Union[Case, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListApprovalsRequest(_message.Message):
    __slots__ = ("scope", "status", "page_size", "page_token")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scope: str
    status: str
    page_size: int
    page_token: str
    def __init__(self, scope: _Optional[str] = ..., status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListApprovalsResponse(_message.Message):
    __slots__ = ("approvals", "next_page_token")
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    next_page_token: str
    def __init__(self, approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class EnrollStaffTotpRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EnrollStaffTotpResponse(_message.Message):
    __slots__ = ("provisioning_uri",)
    PROVISIONING_URI_FIELD_NUMBER: _ClassVar[int]
    provisioning_uri: str
    def __init__(self, provisioning_uri: _Optional[str] = ...) -> None: ...

class StartStaffSessionRequest(_message.Message):
    __slots__ = ("totp_code",)
    TOTP_CODE_FIELD_NUMBER: _ClassVar[int]
    totp_code: str
    def __init__(self, totp_code: _Optional[str] = ...) -> None: ...

class StartStaffSessionResponse(_message.Message):
    __slots__ = ("session_credential", "expires_at", "staff_id", "roles")
    SESSION_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    session_credential: str
    expires_at: _timestamp_pb2.Timestamp
    staff_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_credential: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., staff_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

class EndStaffSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EndStaffSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
