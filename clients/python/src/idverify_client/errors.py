"""The errors a loan service sees, each with a stable ``reason`` code.

``InvalidToken`` comes from the offline verifier (no gRPC needed). The ``RpcError`` tree comes from the gRPC client
(``idverify_client.rpc``, the ``[grpc]`` extra): one class per gRPC status code the service uses, and, for the
outcomes a loan service must branch on, one class per reason (``TokenRedeemed``, ``TokenRevoked``, ...).
Every ``str(error)`` starts with the reason code, so a log line or a traceback says what went wrong.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


class IdVerifyClientError(Exception):
    """Base of every error this package raises on purpose. ``reason`` is the stable snake_case code."""

    def __init__(self, reason: str, message: str = "") -> None:
        if not _CODE.fullmatch(reason):
            raise ValueError(f"reason code must be snake_case ascii, got {reason!r}")
        super().__init__(reason, message)
        self.reason = reason
        self.message = message or reason

    @property
    def code(self) -> str:
        """The reason code (the server's domain errors call it ``code``; both names work)."""
        return self.reason

    def __str__(self) -> str:
        return self.reason if self.message == self.reason else f"{self.reason}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, message={self.message!r})"


class InvalidToken(IdVerifyClientError):
    """A verification token that must be refused.

    ``reason`` is coarse, for callers (``token_invalid``, ``token_expired``, ``token_not_yet_valid``,
    ``token_binding_mismatch``); ``internal_reason`` names the exact check that failed (``bad_signature``,
    ``unknown_kid``, ``wrong_aud``, ``binding_amount``, ...), for logs. Neither ever holds the token or a claim value.
    """

    def __init__(self, reason: str, message: str = "", *, internal_reason: str | None = None) -> None:
        super().__init__(reason, message)
        self.internal_reason = internal_reason

    def __str__(self) -> str:
        detail = f" ({self.internal_reason})" if self.internal_reason else ""
        return f"{self.reason}{detail}: {self.message}"


class RpcError(IdVerifyClientError):
    """An RPC the service refused or could not answer.

    ``status`` is the gRPC status name (``"FAILED_PRECONDITION"``); ``reason`` the stable code from the status
    details' ``ErrorInfo`` (``"session_expired"``); ``message`` the ``LocalizedMessage`` in the request's locale
    when the service sent one, else the status message; ``retry_after_s`` the ``RetryInfo`` delay, when the service
    said when to try again; ``request_id`` the ``x-request-id`` to quote to the service's operators.
    """

    status = "UNKNOWN"

    def __init__(
        self,
        reason: str,
        message: str = "",
        *,
        status: str | None = None,
        retry_after_s: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(reason, message)
        if status is not None:
            self.status = status
        self.retry_after_s = retry_after_s
        self.request_id = request_id

    def __str__(self) -> str:
        text = f"{self.status} {self.reason}: {self.message}"
        if self.retry_after_s is not None:
            text += f" (retry after {self.retry_after_s:.0f} s)"
        return text


class InvalidArgument(RpcError):
    """The request is malformed; nothing was changed. Do not retry it unchanged."""

    status = "INVALID_ARGUMENT"


class NotFound(RpcError):
    """No such session, case or token (or not visible to this caller)."""

    status = "NOT_FOUND"


class AlreadyExists(RpcError):
    """Creating something that exists, e.g. a second open verification for one loan application."""

    status = "ALREADY_EXISTS"


class FailedPrecondition(RpcError):
    """Well formed, but the state does not allow it (expired or finished session, frozen identity, ...)."""

    status = "FAILED_PRECONDITION"


class PermissionDenied(RpcError):
    """The caller may not do this, or (``TokenRefused``) the token does not verify."""

    status = "PERMISSION_DENIED"


class Unauthenticated(RpcError):
    """No valid API key or client certificate."""

    status = "UNAUTHENTICATED"


class ResourceExhausted(RpcError):
    """A limit was hit (``otp_resend_too_soon``, ``server_busy``, too many attempts); see ``retry_after_s``."""

    status = "RESOURCE_EXHAUSTED"


class Aborted(RpcError):
    """A concurrent change won; reading again and retrying may succeed."""

    status = "ABORTED"


class Unavailable(RpcError):
    """The service or its storage cannot be reached (retried by the client before it is raised)."""

    status = "UNAVAILABLE"


class Unimplemented(RpcError):
    """The RPC or factor is not available on this deployment (``factor_not_available``)."""

    status = "UNIMPLEMENTED"


class DeadlineExceeded(RpcError):
    """No answer within the deadline. The call may or may not have taken effect: never retried automatically."""

    status = "DEADLINE_EXCEEDED"


class Internal(RpcError):
    """The service failed unexpectedly; quote ``request_id`` to its operators."""

    status = "INTERNAL"


class TokenRefused(PermissionDenied):
    """The loan service must not disburse: the token does not verify (``token_invalid``) or is not usable."""


class TokenRedeemed(TokenRefused):
    """``token_redeemed``: another caller redeemed the token. (The caller that redeemed it gets its original
    redemption back when it asks again, so a retry after a lost answer never ends here.)"""


class TokenRevoked(TokenRefused):
    """``token_revoked``: the verification was reported or revoked by staff."""


class TokenExpired(TokenRefused):
    """``token_expired``: ask the applicant to verify again."""


class TokenBindingMismatch(TokenRefused):
    """``token_binding_mismatch``: issued for another loan application, amount or payout account."""


STATUS_ERRORS: dict[str, type[RpcError]] = {
    cls.status: cls
    for cls in (
        InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, PermissionDenied, Unauthenticated,
        ResourceExhausted, Aborted, Unavailable, Unimplemented, DeadlineExceeded, Internal,
    )
}
REASON_ERRORS: dict[str, type[RpcError]] = {
    "token_invalid": TokenRefused,
    "token_not_yet_valid": TokenRefused,
    "token_redeemed": TokenRedeemed,
    "token_revoked": TokenRevoked,
    "token_expired": TokenExpired,
    "token_binding_mismatch": TokenBindingMismatch,
}


def error_for(
    status: str,
    reason: str,
    message: str = "",
    *,
    retry_after_s: float | None = None,
    request_id: str | None = None,
) -> RpcError:
    """The most specific error class for a status name and reason code (a reason class only under its own status)."""
    cls = STATUS_ERRORS.get(status, RpcError)
    specific = REASON_ERRORS.get(reason)
    if specific is not None and issubclass(specific, cls):
        cls = specific
    return cls(reason, message, status=status, retry_after_s=retry_after_s, request_id=request_id)
