"""What a loan service imports to check idverify tokens. Needs only joserfc and cryptography.

    from idverify.client import TokenVerifier, ExpectedBinding, InvalidToken
"""

from idverify.client.claims import payout_account_hash
from idverify.client.jwks import JwksSource, RefreshingJwks, StaticJwks, jwks_source
from idverify.client.verifier import ExpectedBinding, TokenVerifier, VerifiedToken
from idverify.domain.errors import InvalidToken

__all__ = [
    "ExpectedBinding",
    "InvalidToken",
    "JwksSource",
    "RefreshingJwks",
    "StaticJwks",
    "TokenVerifier",
    "VerifiedToken",
    "jwks_source",
    "payout_account_hash",
]
