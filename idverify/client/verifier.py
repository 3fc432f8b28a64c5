"""The server's view of the token verifier in ``idverify_client.verifier``: the same checks, but a refusal is the
domain's ``InvalidToken`` (an ``IdVerifyError`` the transport maps to a status), not the client package's.

The client distribution cannot import the server's domain (it must install without it), and the domain must not
import a third-party package, so the one translation between the two error types lives here.
"""

from __future__ import annotations

from datetime import datetime

import idverify_client.verifier as _client
from idverify_client.errors import InvalidToken as ClientInvalidToken
from idverify_client.verifier import (
    CODE_BINDING_MISMATCH,
    CODE_EXPIRED,
    CODE_INVALID,
    CODE_NOT_YET_VALID,
    ExpectedBinding,
    VerifiedToken,
)

from idverify.domain.errors import InvalidToken

__all__ = [
    "CODE_BINDING_MISMATCH",
    "CODE_EXPIRED",
    "CODE_INVALID",
    "CODE_NOT_YET_VALID",
    "ExpectedBinding",
    "TokenVerifier",
    "VerifiedToken",
]


class TokenVerifier(_client.TokenVerifier):
    """``idverify_client.TokenVerifier`` raising ``idverify.domain.errors.InvalidToken``."""

    def verify(
        self, token: str, *, now: datetime | None = None, expected: ExpectedBinding | None = None
    ) -> VerifiedToken:
        """See ``idverify_client.TokenVerifier.verify``. Raises ``idverify.domain.errors.InvalidToken``."""
        try:
            return super().verify(token, now=now, expected=expected)
        except ClientInvalidToken as exc:
            raise InvalidToken(exc.reason, exc.message, internal_reason=exc.internal_reason) from None
