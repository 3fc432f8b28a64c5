import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Factor(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FACTOR_UNSPECIFIED: _ClassVar[Factor]
    FACTOR_SMS_OTP: _ClassVar[Factor]
    FACTOR_TOTP: _ClassVar[Factor]
    FACTOR_DOCUMENT: _ClassVar[Factor]
    FACTOR_LIVENESS: _ClassVar[Factor]
    FACTOR_FACE_MATCH_DOCUMENT: _ClassVar[Factor]
    FACTOR_FACE_MATCH_ENROLLED: _ClassVar[Factor]
    FACTOR_DEVICE_KEY: _ClassVar[Factor]

class FactorOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FACTOR_OUTCOME_UNSPECIFIED: _ClassVar[FactorOutcome]
    FACTOR_OUTCOME_PASSED: _ClassVar[FactorOutcome]
    FACTOR_OUTCOME_FAILED: _ClassVar[FactorOutcome]
    FACTOR_OUTCOME_INCONCLUSIVE: _ClassVar[FactorOutcome]
FACTOR_UNSPECIFIED: Factor
FACTOR_SMS_OTP: Factor
FACTOR_TOTP: Factor
FACTOR_DOCUMENT: Factor
FACTOR_LIVENESS: Factor
FACTOR_FACE_MATCH_DOCUMENT: Factor
FACTOR_FACE_MATCH_ENROLLED: Factor
FACTOR_DEVICE_KEY: Factor
FACTOR_OUTCOME_UNSPECIFIED: FactorOutcome
FACTOR_OUTCOME_PASSED: FactorOutcome
FACTOR_OUTCOME_FAILED: FactorOutcome
FACTOR_OUTCOME_INCONCLUSIVE: FactorOutcome

class Money(_message.Message):
    __slots__ = ("currency", "value")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    currency: str
    value: str
    def __init__(self, currency: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ApplicationContext(_message.Message):
    __slots__ = ("applicant_id", "loan_application_id", "amount", "device_id", "client_ip", "locale")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    LOAN_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    loan_application_id: str
    amount: Money
    device_id: str
    client_ip: str
    locale: str
    def __init__(self, applicant_id: _Optional[str] = ..., loan_application_id: _Optional[str] = ..., amount: _Optional[_Union[Money, _Mapping]] = ..., device_id: _Optional[str] = ..., client_ip: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...

class FactorResult(_message.Message):
    __slots__ = ("factor", "outcome", "reason_code", "at", "score", "threshold", "model_id", "message")
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    factor: Factor
    outcome: FactorOutcome
    reason_code: str
    at: _timestamp_pb2.Timestamp
    score: float
    threshold: float
    model_id: str
    message: str
    def __init__(self, factor: _Optional[_Union[Factor, str]] = ..., outcome: _Optional[_Union[FactorOutcome, str]] = ..., reason_code: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., model_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
