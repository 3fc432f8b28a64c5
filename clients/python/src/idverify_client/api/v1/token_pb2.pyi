import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from idverify_client.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TokenState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOKEN_STATE_UNSPECIFIED: _ClassVar[TokenState]
    TOKEN_STATE_ACTIVE: _ClassVar[TokenState]
    TOKEN_STATE_REDEEMED: _ClassVar[TokenState]
    TOKEN_STATE_REVOKED: _ClassVar[TokenState]
    TOKEN_STATE_EXPIRED: _ClassVar[TokenState]
    TOKEN_STATE_INVALID: _ClassVar[TokenState]
TOKEN_STATE_UNSPECIFIED: TokenState
TOKEN_STATE_ACTIVE: TokenState
TOKEN_STATE_REDEEMED: TokenState
TOKEN_STATE_REVOKED: TokenState
TOKEN_STATE_EXPIRED: TokenState
TOKEN_STATE_INVALID: TokenState

class GetJwksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetJwksResponse(_message.Message):
    __slots__ = ("jwks_json",)
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    jwks_json: str
    def __init__(self, jwks_json: _Optional[str] = ...) -> None: ...

class RedeemTokenRequest(_message.Message):
    __slots__ = ("token", "loan_application_id", "amount", "payout_account")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOAN_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    token: str
    loan_application_id: str
    amount: _common_pb2.Money
    payout_account: str
    def __init__(self, token: _Optional[str] = ..., loan_application_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., payout_account: _Optional[str] = ...) -> None: ...

class RedeemTokenResponse(_message.Message):
    __slots__ = ("token_id", "subject", "session_id", "assurance_level", "methods", "redeemed_at", "redemption_id")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_AT_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    subject: str
    session_id: str
    assurance_level: str
    methods: _containers.RepeatedScalarFieldContainer[str]
    redeemed_at: _timestamp_pb2.Timestamp
    redemption_id: str
    def __init__(self, token_id: _Optional[str] = ..., subject: _Optional[str] = ..., session_id: _Optional[str] = ..., assurance_level: _Optional[str] = ..., methods: _Optional[_Iterable[str]] = ..., redeemed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., redemption_id: _Optional[str] = ...) -> None: ...

class IntrospectTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class IntrospectTokenResponse(_message.Message):
    __slots__ = ("state", "token_id", "session_id", "assurance_level", "methods", "expires_at", "reason_code")
    STATE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    state: TokenState
    token_id: str
    session_id: str
    assurance_level: str
    methods: _containers.RepeatedScalarFieldContainer[str]
    expires_at: _timestamp_pb2.Timestamp
    reason_code: str
    def __init__(self, state: _Optional[_Union[TokenState, str]] = ..., token_id: _Optional[str] = ..., session_id: _Optional[str] = ..., assurance_level: _Optional[str] = ..., methods: _Optional[_Iterable[str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason_code: _Optional[str] = ...) -> None: ...

class RevokeTokensRequest(_message.Message):
    __slots__ = ("token_id", "applicant_id", "session_id", "reason")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    applicant_id: str
    session_id: str
    reason: str
    def __init__(self, token_id: _Optional[str] = ..., applicant_id: _Optional[str] = ..., session_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeTokensResponse(_message.Message):
    __slots__ = ("revoked_count",)
    REVOKED_COUNT_FIELD_NUMBER: _ClassVar[int]
    revoked_count: int
    def __init__(self, revoked_count: _Optional[int] = ...) -> None: ...
