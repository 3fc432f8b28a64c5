"""The token verifier inside the server, for the server's own use (the key ring, the ``token verify`` command).

Loan services install the ``idverify-client`` distribution instead and import ``idverify_client``: it holds the
source of the verifier (claims, JOSE registry, JWKS sources) and needs only joserfc and cryptography. The modules
here re-export it; ``verifier.TokenVerifier`` raises the domain's ``InvalidToken`` so the transport can map it.
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
