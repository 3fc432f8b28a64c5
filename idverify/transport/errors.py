"""The one mapping from domain errors to gRPC status codes, and the rich status sent to callers.

Every error becomes a ``google.rpc.Status`` whose details carry an ``ErrorInfo`` (``reason`` = the stable code,
``domain`` = "idverify"), a ``RetryInfo`` when the error says when to retry, and a ``LocalizedMessage`` for the
caller's locale. The code is also sent as the ``idverify-reason`` trailing metadata for simple clients.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from idverify.domain import errors as e
from idverify.transport.texts import text_for

ERROR_DOMAIN = "idverify"
REASON_METADATA_KEY = "idverify-reason"

STATUS: dict[type[e.IdVerifyError], grpc.StatusCode] = {
    e.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    e.NotFound: grpc.StatusCode.NOT_FOUND,
    e.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    e.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    e.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    e.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    e.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    e.Aborted: grpc.StatusCode.ABORTED,
    e.Unavailable: grpc.StatusCode.UNAVAILABLE,
    e.Unimplemented: grpc.StatusCode.UNIMPLEMENTED,
    # A refused token is a refused argument: the caller presented something that does not verify.
    e.InvalidToken: grpc.StatusCode.PERMISSION_DENIED,
}


def status_code_for(error: e.IdVerifyError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return grpc.StatusCode.INTERNAL


def rich_status(error: e.IdVerifyError, locale: str) -> status_pb2.Status:
    """The ``google.rpc.Status`` for a domain error."""
    code = status_code_for(error)
    info = error_details_pb2.ErrorInfo(reason=error.code, domain=ERROR_DOMAIN)
    details = [info]
    if error.retry_after_s is not None:
        info.metadata["retry_after_s"] = f"{error.retry_after_s:.0f}"
        seconds = max(0, round(error.retry_after_s))
        details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds)))
    text = text_for(error.code, locale)
    if text:
        details.append(error_details_pb2.LocalizedMessage(locale=locale, message=text))
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(code=code.value[0], message=error.message, details=packed)


def internal_status() -> status_pb2.Status:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="internal_error", domain=ERROR_DOMAIN))
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error", details=[info])
