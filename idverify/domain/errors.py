"""One error hierarchy for the whole service.

Every error carries a stable, machine-readable ``code`` (snake_case, e.g. ``"otp_expired"``) that clients branch
on, and a human message for operators. The *category* (the class) decides the gRPC status in exactly one place,
``idverify.transport.errors``. Raise a category with a code::

    raise InvalidArgument("otp_malformed", "the code must be 6 digits")

Expected negative answers (a face that does not match, a wrong OTP that still leaves attempts) are *outcomes*,
not errors; errors are what the caller must handle: bad input, unknown or expired session, too many attempts,
a dependency that is down.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class IdVerifyError(Exception):
    """Base of every error the service raises on purpose.

    ``code`` is stable and safe to show to callers. ``message`` must never contain personal data, secrets, codes
    or tokens: it reaches logs and, for most categories, the caller. ``internal_reason`` is for logs only.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        retry_after_s: float | None = None,
        internal_reason: str | None = None,
    ) -> None:
        if not _CODE.match(code):
            raise ValueError(f"reason code must be snake_case ascii, got {code!r}")
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.retry_after_s = retry_after_s
        self.internal_reason = internal_reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidArgument(IdVerifyError):
    """The request itself is malformed: missing field, bad format, oversized value. Nothing was changed."""


class NotFound(IdVerifyError):
    """The named session, case, token or applicant does not exist (or is not visible to this caller)."""


class AlreadyExists(IdVerifyError):
    """Creating something that already exists, e.g. a second open verification for the same loan application."""


class FailedPrecondition(IdVerifyError):
    """The request is well formed but the state does not allow it: expired or finished session, frozen identity,
    factor not yet sent, token already redeemed."""


class PermissionDenied(IdVerifyError):
    """The caller is known but its roles do not allow this RPC or this object."""


class Unauthenticated(IdVerifyError):
    """No caller identity, or one that does not verify."""


class ResourceExhausted(IdVerifyError):
    """A limit was hit. ``retry_after_s`` says when a retry can succeed (None: not before an operator acts)."""


class Aborted(IdVerifyError):
    """A concurrent change won the race; the caller may retry the whole operation."""


class Unavailable(IdVerifyError):
    """A dependency (database, SMS provider, model) is down or not ready; retry later."""


class Unimplemented(IdVerifyError):
    """The RPC or factor exists in the contract but is not built or not configured on this deployment."""


class InvalidToken(IdVerifyError):
    """A verification token that must be refused. ``code`` is deliberately coarse for callers
    (``token_invalid``, ``token_expired``, ``token_redeemed``, ``token_revoked``, ``token_binding_mismatch``);
    ``internal_reason`` says exactly which check failed, for logs."""


#: Every category, in one place, so the transport can prove each one maps to a status other than INTERNAL.
CATEGORIES: tuple[type[IdVerifyError], ...] = (
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    PermissionDenied,
    Unauthenticated,
    ResourceExhausted,
    Aborted,
    Unavailable,
    Unimplemented,
    InvalidToken,
)
