from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Comparison(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPARISON_UNSPECIFIED: _ClassVar[Comparison]
    COMPARISON_SELFIE_VS_DOCUMENT: _ClassVar[Comparison]
    COMPARISON_SELFIE_VS_ENROLLED: _ClassVar[Comparison]
COMPARISON_UNSPECIFIED: Comparison
COMPARISON_SELFIE_VS_DOCUMENT: Comparison
COMPARISON_SELFIE_VS_ENROLLED: Comparison

class CompareFacesRequest(_message.Message):
    __slots__ = ("image_a", "image_b", "comparison")
    IMAGE_A_FIELD_NUMBER: _ClassVar[int]
    IMAGE_B_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    image_a: bytes
    image_b: bytes
    comparison: Comparison
    def __init__(self, image_a: _Optional[bytes] = ..., image_b: _Optional[bytes] = ..., comparison: _Optional[_Union[Comparison, str]] = ...) -> None: ...

class CompareFacesResponse(_message.Message):
    __slots__ = ("matched", "score", "threshold", "model_id", "reason_code")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    matched: bool
    score: float
    threshold: float
    model_id: str
    reason_code: str
    def __init__(self, matched: _Optional[bool] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., model_id: _Optional[str] = ..., reason_code: _Optional[str] = ...) -> None: ...
