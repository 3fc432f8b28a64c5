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

class VerificationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERIFICATION_STATUS_UNSPECIFIED: _ClassVar[VerificationStatus]
    VERIFICATION_STATUS_CREATED: _ClassVar[VerificationStatus]
    VERIFICATION_STATUS_IN_PROGRESS: _ClassVar[VerificationStatus]
    VERIFICATION_STATUS_COMPLETED: _ClassVar[VerificationStatus]
    VERIFICATION_STATUS_FAILED: _ClassVar[VerificationStatus]
    VERIFICATION_STATUS_EXPIRED: _ClassVar[VerificationStatus]
    VERIFICATION_STATUS_CANCELLED: _ClassVar[VerificationStatus]

class OtpChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OTP_CHANNEL_UNSPECIFIED: _ClassVar[OtpChannel]
    OTP_CHANNEL_SMS: _ClassVar[OtpChannel]
    OTP_CHANNEL_TOTP: _ClassVar[OtpChannel]

class DocumentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_TYPE_UNSPECIFIED: _ClassVar[DocumentType]
    DOCUMENT_TYPE_CN_ID_CARD: _ClassVar[DocumentType]
    DOCUMENT_TYPE_PASSPORT: _ClassVar[DocumentType]
    DOCUMENT_TYPE_ID_CARD_MRZ: _ClassVar[DocumentType]

class HeadPose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEAD_POSE_UNSPECIFIED: _ClassVar[HeadPose]
    HEAD_POSE_CENTRE: _ClassVar[HeadPose]
    HEAD_POSE_LEFT: _ClassVar[HeadPose]
    HEAD_POSE_RIGHT: _ClassVar[HeadPose]
    HEAD_POSE_UP: _ClassVar[HeadPose]
    HEAD_POSE_DOWN: _ClassVar[HeadPose]
VERIFICATION_STATUS_UNSPECIFIED: VerificationStatus
VERIFICATION_STATUS_CREATED: VerificationStatus
VERIFICATION_STATUS_IN_PROGRESS: VerificationStatus
VERIFICATION_STATUS_COMPLETED: VerificationStatus
VERIFICATION_STATUS_FAILED: VerificationStatus
VERIFICATION_STATUS_EXPIRED: VerificationStatus
VERIFICATION_STATUS_CANCELLED: VerificationStatus
OTP_CHANNEL_UNSPECIFIED: OtpChannel
OTP_CHANNEL_SMS: OtpChannel
OTP_CHANNEL_TOTP: OtpChannel
DOCUMENT_TYPE_UNSPECIFIED: DocumentType
DOCUMENT_TYPE_CN_ID_CARD: DocumentType
DOCUMENT_TYPE_PASSPORT: DocumentType
DOCUMENT_TYPE_ID_CARD_MRZ: DocumentType
HEAD_POSE_UNSPECIFIED: HeadPose
HEAD_POSE_CENTRE: HeadPose
HEAD_POSE_LEFT: HeadPose
HEAD_POSE_RIGHT: HeadPose
HEAD_POSE_UP: HeadPose
HEAD_POSE_DOWN: HeadPose

class Consent(_message.Message):
    __slots__ = ("biometric_processing", "text_version")
    BIOMETRIC_PROCESSING_FIELD_NUMBER: _ClassVar[int]
    TEXT_VERSION_FIELD_NUMBER: _ClassVar[int]
    biometric_processing: bool
    text_version: str
    def __init__(self, biometric_processing: _Optional[bool] = ..., text_version: _Optional[str] = ...) -> None: ...

class StartVerificationRequest(_message.Message):
    __slots__ = ("context", "phone_e164", "payout_account", "first_loan", "phone_recently_changed", "consent")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PHONE_E164_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_LOAN_FIELD_NUMBER: _ClassVar[int]
    PHONE_RECENTLY_CHANGED_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    phone_e164: str
    payout_account: str
    first_loan: bool
    phone_recently_changed: bool
    consent: Consent
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., phone_e164: _Optional[str] = ..., payout_account: _Optional[str] = ..., first_loan: _Optional[bool] = ..., phone_recently_changed: _Optional[bool] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ...) -> None: ...

class RiskAssessment(_message.Message):
    __slots__ = ("score", "reason_codes", "decision")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODES_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    score: int
    reason_codes: _containers.RepeatedScalarFieldContainer[str]
    decision: str
    def __init__(self, score: _Optional[int] = ..., reason_codes: _Optional[_Iterable[str]] = ..., decision: _Optional[str] = ...) -> None: ...

class Verification(_message.Message):
    __slots__ = ("session_id", "status", "required_factors", "passed_factors", "results", "created_at", "expires_at", "reference", "risk", "reason_code")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FACTORS_FIELD_NUMBER: _ClassVar[int]
    PASSED_FACTORS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    status: VerificationStatus
    required_factors: _containers.RepeatedScalarFieldContainer[_common_pb2.Factor]
    passed_factors: _containers.RepeatedScalarFieldContainer[_common_pb2.Factor]
    results: _containers.RepeatedCompositeFieldContainer[_common_pb2.FactorResult]
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    reference: str
    risk: RiskAssessment
    reason_code: str
    def __init__(self, session_id: _Optional[str] = ..., status: _Optional[_Union[VerificationStatus, str]] = ..., required_factors: _Optional[_Iterable[_Union[_common_pb2.Factor, str]]] = ..., passed_factors: _Optional[_Iterable[_Union[_common_pb2.Factor, str]]] = ..., results: _Optional[_Iterable[_Union[_common_pb2.FactorResult, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., risk: _Optional[_Union[RiskAssessment, _Mapping]] = ..., reason_code: _Optional[str] = ...) -> None: ...

class StartVerificationResponse(_message.Message):
    __slots__ = ("verification",)
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    verification: Verification
    def __init__(self, verification: _Optional[_Union[Verification, _Mapping]] = ...) -> None: ...

class GetVerificationRequest(_message.Message):
    __slots__ = ("context", "session_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class GetVerificationResponse(_message.Message):
    __slots__ = ("verification",)
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    verification: Verification
    def __init__(self, verification: _Optional[_Union[Verification, _Mapping]] = ...) -> None: ...

class CancelVerificationRequest(_message.Message):
    __slots__ = ("context", "session_id", "reason")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    reason: str
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelVerificationResponse(_message.Message):
    __slots__ = ("verification",)
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    verification: Verification
    def __init__(self, verification: _Optional[_Union[Verification, _Mapping]] = ...) -> None: ...

class SendOtpRequest(_message.Message):
    __slots__ = ("context", "session_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class SendOtpResponse(_message.Message):
    __slots__ = ("expires_at", "resend_after", "code_length", "masked_destination")
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RESEND_AFTER_FIELD_NUMBER: _ClassVar[int]
    CODE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MASKED_DESTINATION_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    resend_after: _timestamp_pb2.Timestamp
    code_length: int
    masked_destination: str
    def __init__(self, expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resend_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., code_length: _Optional[int] = ..., masked_destination: _Optional[str] = ...) -> None: ...

class CheckOtpRequest(_message.Message):
    __slots__ = ("context", "session_id", "code", "channel")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    code: str
    channel: OtpChannel
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., code: _Optional[str] = ..., channel: _Optional[_Union[OtpChannel, str]] = ...) -> None: ...

class CheckOtpResponse(_message.Message):
    __slots__ = ("result", "attempts_left")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_LEFT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.FactorResult
    attempts_left: int
    def __init__(self, result: _Optional[_Union[_common_pb2.FactorResult, _Mapping]] = ..., attempts_left: _Optional[int] = ...) -> None: ...

class EnrollTotpRequest(_message.Message):
    __slots__ = ("context", "session_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class EnrollTotpResponse(_message.Message):
    __slots__ = ("provisioning_uri",)
    PROVISIONING_URI_FIELD_NUMBER: _ClassVar[int]
    provisioning_uri: str
    def __init__(self, provisioning_uri: _Optional[str] = ...) -> None: ...

class DocumentFields(_message.Message):
    __slots__ = ("full_name", "document_number", "birth_date", "sex", "expiry_date", "nationality", "issuing_state")
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_DATE_FIELD_NUMBER: _ClassVar[int]
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    ISSUING_STATE_FIELD_NUMBER: _ClassVar[int]
    full_name: str
    document_number: str
    birth_date: str
    sex: str
    expiry_date: str
    nationality: str
    issuing_state: str
    def __init__(self, full_name: _Optional[str] = ..., document_number: _Optional[str] = ..., birth_date: _Optional[str] = ..., sex: _Optional[str] = ..., expiry_date: _Optional[str] = ..., nationality: _Optional[str] = ..., issuing_state: _Optional[str] = ...) -> None: ...

class DocumentCheck(_message.Message):
    __slots__ = ("name", "passed", "reason_code")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    passed: bool
    reason_code: str
    def __init__(self, name: _Optional[str] = ..., passed: _Optional[bool] = ..., reason_code: _Optional[str] = ...) -> None: ...

class SubmitDocumentRequest(_message.Message):
    __slots__ = ("context", "session_id", "document_type", "front_image", "back_image", "typed", "holder_record")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FRONT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    BACK_IMAGE_FIELD_NUMBER: _ClassVar[int]
    TYPED_FIELD_NUMBER: _ClassVar[int]
    HOLDER_RECORD_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    document_type: DocumentType
    front_image: bytes
    back_image: bytes
    typed: DocumentFields
    holder_record: DocumentFields
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., document_type: _Optional[_Union[DocumentType, str]] = ..., front_image: _Optional[bytes] = ..., back_image: _Optional[bytes] = ..., typed: _Optional[_Union[DocumentFields, _Mapping]] = ..., holder_record: _Optional[_Union[DocumentFields, _Mapping]] = ...) -> None: ...

class SubmitDocumentResponse(_message.Message):
    __slots__ = ("result", "extracted", "checks", "decision")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    EXTRACTED_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.FactorResult
    extracted: DocumentFields
    checks: _containers.RepeatedCompositeFieldContainer[DocumentCheck]
    decision: str
    def __init__(self, result: _Optional[_Union[_common_pb2.FactorResult, _Mapping]] = ..., extracted: _Optional[_Union[DocumentFields, _Mapping]] = ..., checks: _Optional[_Iterable[_Union[DocumentCheck, _Mapping]]] = ..., decision: _Optional[str] = ...) -> None: ...

class StartLivenessChallengeRequest(_message.Message):
    __slots__ = ("context", "session_id", "mirrored", "capture_key_jwk", "attestation")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MIRRORED_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_KEY_JWK_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    mirrored: bool
    capture_key_jwk: str
    attestation: PlatformAttestation
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., mirrored: _Optional[bool] = ..., capture_key_jwk: _Optional[str] = ..., attestation: _Optional[_Union[PlatformAttestation, _Mapping]] = ...) -> None: ...

class PlatformAttestation(_message.Message):
    __slots__ = ("platform", "token")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    platform: str
    token: bytes
    def __init__(self, platform: _Optional[str] = ..., token: _Optional[bytes] = ...) -> None: ...

class LightStep(_message.Message):
    __slots__ = ("rgb", "duration_ms")
    RGB_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    rgb: int
    duration_ms: int
    def __init__(self, rgb: _Optional[int] = ..., duration_ms: _Optional[int] = ...) -> None: ...

class LivenessCapture(_message.Message):
    __slots__ = ("min_frames", "max_frames", "min_interval_ms", "max_interval_ms", "max_median_interval_ms", "max_frame_pixels", "min_frames_per_light_step")
    MIN_FRAMES_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAMES_FIELD_NUMBER: _ClassVar[int]
    MIN_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_MEDIAN_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_PIXELS_FIELD_NUMBER: _ClassVar[int]
    MIN_FRAMES_PER_LIGHT_STEP_FIELD_NUMBER: _ClassVar[int]
    min_frames: int
    max_frames: int
    min_interval_ms: int
    max_interval_ms: int
    max_median_interval_ms: int
    max_frame_pixels: int
    min_frames_per_light_step: int
    def __init__(self, min_frames: _Optional[int] = ..., max_frames: _Optional[int] = ..., min_interval_ms: _Optional[int] = ..., max_interval_ms: _Optional[int] = ..., max_median_interval_ms: _Optional[int] = ..., max_frame_pixels: _Optional[int] = ..., min_frames_per_light_step: _Optional[int] = ...) -> None: ...

class LivenessStep(_message.Message):
    __slots__ = ("pose", "guidance")
    POSE_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    pose: HeadPose
    guidance: str
    def __init__(self, pose: _Optional[_Union[HeadPose, str]] = ..., guidance: _Optional[str] = ...) -> None: ...

class LivenessChallenge(_message.Message):
    __slots__ = ("challenge_id", "nonce", "steps", "issued_at", "deadline", "light_steps", "capture", "capture_key_registered")
    CHALLENGE_ID_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    LIGHT_STEPS_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_KEY_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    challenge_id: str
    nonce: str
    steps: _containers.RepeatedCompositeFieldContainer[LivenessStep]
    issued_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    light_steps: _containers.RepeatedCompositeFieldContainer[LightStep]
    capture: LivenessCapture
    capture_key_registered: bool
    def __init__(self, challenge_id: _Optional[str] = ..., nonce: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[LivenessStep, _Mapping]]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., light_steps: _Optional[_Iterable[_Union[LightStep, _Mapping]]] = ..., capture: _Optional[_Union[LivenessCapture, _Mapping]] = ..., capture_key_registered: _Optional[bool] = ...) -> None: ...

class StartLivenessChallengeResponse(_message.Message):
    __slots__ = ("challenge",)
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    challenge: LivenessChallenge
    def __init__(self, challenge: _Optional[_Union[LivenessChallenge, _Mapping]] = ...) -> None: ...

class SubmitLivenessFramesRequest(_message.Message):
    __slots__ = ("context", "session_id", "challenge_id", "nonce", "captured_at_ms", "image", "mirrored", "sequence", "light_step", "signature")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_ID_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MIRRORED_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LIGHT_STEP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    challenge_id: str
    nonce: str
    captured_at_ms: int
    image: bytes
    mirrored: bool
    sequence: int
    light_step: int
    signature: bytes
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., challenge_id: _Optional[str] = ..., nonce: _Optional[str] = ..., captured_at_ms: _Optional[int] = ..., image: _Optional[bytes] = ..., mirrored: _Optional[bool] = ..., sequence: _Optional[int] = ..., light_step: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SubmitLivenessFramesResponse(_message.Message):
    __slots__ = ("result", "reason_codes", "passive_pad_ran", "face_matches")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_CODES_FIELD_NUMBER: _ClassVar[int]
    PASSIVE_PAD_RAN_FIELD_NUMBER: _ClassVar[int]
    FACE_MATCHES_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.FactorResult
    reason_codes: _containers.RepeatedScalarFieldContainer[str]
    passive_pad_ran: bool
    face_matches: _containers.RepeatedCompositeFieldContainer[_common_pb2.FactorResult]
    def __init__(self, result: _Optional[_Union[_common_pb2.FactorResult, _Mapping]] = ..., reason_codes: _Optional[_Iterable[str]] = ..., passive_pad_ran: _Optional[bool] = ..., face_matches: _Optional[_Iterable[_Union[_common_pb2.FactorResult, _Mapping]]] = ...) -> None: ...

class EnrollFaceRequest(_message.Message):
    __slots__ = ("context", "session_id", "consent")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    consent: Consent
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ...) -> None: ...

class EnrollFaceResponse(_message.Message):
    __slots__ = ("template_id", "model_id", "enrolled_at")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_AT_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    model_id: str
    enrolled_at: _timestamp_pb2.Timestamp
    def __init__(self, template_id: _Optional[str] = ..., model_id: _Optional[str] = ..., enrolled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CompleteVerificationRequest(_message.Message):
    __slots__ = ("context", "session_id", "key_thumbprint")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_THUMBPRINT_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ApplicationContext
    session_id: str
    key_thumbprint: str
    def __init__(self, context: _Optional[_Union[_common_pb2.ApplicationContext, _Mapping]] = ..., session_id: _Optional[str] = ..., key_thumbprint: _Optional[str] = ...) -> None: ...

class CompleteVerificationResponse(_message.Message):
    __slots__ = ("verification", "token", "token_expires_at")
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    verification: Verification
    token: str
    token_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, verification: _Optional[_Union[Verification, _Mapping]] = ..., token: _Optional[str] = ..., token_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
