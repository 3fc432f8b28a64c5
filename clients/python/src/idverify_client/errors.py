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
