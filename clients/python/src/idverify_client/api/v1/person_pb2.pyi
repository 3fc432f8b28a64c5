import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from idverify_client.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeviceSummary(_message.Message):
    __slots__ = ("device_hint", "registered_device", "device_key_proved")
    DEVICE_HINT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_DEVICE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_KEY_PROVED_FIELD_NUMBER: _ClassVar[int]
    device_hint: str
    registered_device: bool
    device_key_proved: bool
    def __init__(self, device_hint: _Optional[str] = ..., registered_device: _Optional[bool] = ..., device_key_proved: _Optional[bool] = ...) -> None: ...

class MyTokenState(_message.Message):
    __slots__ = ("issued", "redeemed", "redeemed_at", "revoked")
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    issued: bool
    redeemed: bool
    redeemed_at: _timestamp_pb2.Timestamp
    revoked: bool
    def __init__(self, issued: _Optional[bool] = ..., redeemed: _Optional[bool] = ..., redeemed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: _Optional[bool] = ...) -> None: ...

class MyVerification(_message.Message):
    __slots__ = ("reference", "started_at", "completed_at", "lender", "loan_application_id", "amount", "factors", "device", "outcome", "outcome_reason", "token", "disputed")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    LENDER_FIELD_NUMBER: _ClassVar[int]
    LOAN_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FACTORS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_REASON_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_FIELD_NUMBER: _ClassVar[int]
    reference: str
    started_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    lender: str
    loan_application_id: str
    amount: _common_pb2.Money
    factors: _containers.RepeatedCompositeFieldContainer[_common_pb2.FactorResult]
    device: DeviceSummary
    outcome: str
    outcome_reason: str
    token: MyTokenState
    disputed: bool
    def __init__(self, reference: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lender: _Optional[str] = ..., loan_application_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., factors: _Optional[_Iterable[_Union[_common_pb2.FactorResult, _Mapping]]] = ..., device: _Optional[_Union[DeviceSummary, _Mapping]] = ..., outcome: _Optional[str] = ..., outcome_reason: _Optional[str] = ..., token: _Optional[_Union[MyTokenState, _Mapping]] = ..., disputed: _Optional[bool] = ...) -> None: ...

class ListMyVerificationsRequest(_message.Message):
    __slots__ = ("applicant_id", "page_size", "page_token", "locale")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    page_size: int
    page_token: str
    locale: str
    def __init__(self, applicant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...

class ListMyVerificationsResponse(_message.Message):
    __slots__ = ("verifications", "next_page_token")
    VERIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    verifications: _containers.RepeatedCompositeFieldContainer[MyVerification]
    next_page_token: str
    def __init__(self, verifications: _Optional[_Iterable[_Union[MyVerification, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetMyVerificationRequest(_message.Message):
    __slots__ = ("applicant_id", "reference", "locale")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    reference: str
    locale: str
    def __init__(self, applicant_id: _Optional[str] = ..., reference: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...

class GetMyVerificationResponse(_message.Message):
    __slots__ = ("verification",)
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    verification: MyVerification
    def __init__(self, verification: _Optional[_Union[MyVerification, _Mapping]] = ...) -> None: ...

class ReportNotMeRequest(_message.Message):
    __slots__ = ("applicant_id", "reference", "description")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    reference: str
    description: str
    def __init__(self, applicant_id: _Optional[str] = ..., reference: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ReportNotMeResponse(_message.Message):
    __slots__ = ("case_id", "revoked_tokens", "identity_frozen")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    REVOKED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FROZEN_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    revoked_tokens: int
    identity_frozen: bool
    def __init__(self, case_id: _Optional[str] = ..., revoked_tokens: _Optional[int] = ..., identity_frozen: _Optional[bool] = ...) -> None: ...

class DeviceKey(_message.Message):
    __slots__ = ("key_id", "algorithm", "label", "registered_at", "revoked_at", "device_hint")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_HINT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    algorithm: str
    label: str
    registered_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    device_hint: str
    def __init__(self, key_id: _Optional[str] = ..., algorithm: _Optional[str] = ..., label: _Optional[str] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., device_hint: _Optional[str] = ...) -> None: ...

class RegisterDeviceKeyRequest(_message.Message):
    __slots__ = ("applicant_id", "session_id", "public_key_jwk", "label", "device_id")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_JWK_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    session_id: str
    public_key_jwk: str
    label: str
    device_id: str
    def __init__(self, applicant_id: _Optional[str] = ..., session_id: _Optional[str] = ..., public_key_jwk: _Optional[str] = ..., label: _Optional[str] = ..., device_id: _Optional[str] = ...) -> None: ...

class RegisterDeviceKeyResponse(_message.Message):
    __slots__ = ("device_key",)
    DEVICE_KEY_FIELD_NUMBER: _ClassVar[int]
    device_key: DeviceKey
    def __init__(self, device_key: _Optional[_Union[DeviceKey, _Mapping]] = ...) -> None: ...

class ListDeviceKeysRequest(_message.Message):
    __slots__ = ("applicant_id",)
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    def __init__(self, applicant_id: _Optional[str] = ...) -> None: ...

class ListDeviceKeysResponse(_message.Message):
    __slots__ = ("device_keys",)
    DEVICE_KEYS_FIELD_NUMBER: _ClassVar[int]
    device_keys: _containers.RepeatedCompositeFieldContainer[DeviceKey]
    def __init__(self, device_keys: _Optional[_Iterable[_Union[DeviceKey, _Mapping]]] = ...) -> None: ...

class RevokeDeviceKeyRequest(_message.Message):
    __slots__ = ("applicant_id", "key_id")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    key_id: str
    def __init__(self, applicant_id: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class RevokeDeviceKeyResponse(_message.Message):
    __slots__ = ("device_key",)
    DEVICE_KEY_FIELD_NUMBER: _ClassVar[int]
    device_key: DeviceKey
    def __init__(self, device_key: _Optional[_Union[DeviceKey, _Mapping]] = ...) -> None: ...

class StartDeviceProofRequest(_message.Message):
    __slots__ = ("context", "session_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class StartDeviceProofResponse(_message.Message):
    __slots__ = ("nonce", "signing_input", "key_ids")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_INPUT_FIELD_NUMBER: _ClassVar[int]
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    signing_input: str
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, nonce: _Optional[str] = ..., signing_input: _Optional[str] = ..., key_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SubmitDeviceProofRequest(_message.Message):
    __slots__ = ("context", "session_id", "key_id", "signature")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    key_id: str
    signature: bytes
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SubmitDeviceProofResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.FactorResult
    def __init__(self, result: _Optional[_Union[_common_pb2.FactorResult, _Mapping]] = ...) -> None: ...
