"""Check and redeem idverify verification tokens from a loan service.

The offline verifier needs only joserfc and cryptography::

    from idverify_client import ExpectedBinding, InvalidToken, TokenVerifier

    verifier = TokenVerifier("http://idverify.internal:9464/.well-known/jwks.json", "idverify", "loan-service")
    verified = verifier.verify(token, expected=ExpectedBinding("L-1", "1200.00", "CNY", "6222020000000001"))

The gRPC client (``idverify_client.rpc``) needs the ``grpc`` extra: ``pip install "idverify-client[grpc]"``.
"""

from importlib.metadata import PackageNotFoundError, version

from idverify_client.claims import payout_account_hash
from idverify_client.errors import IdVerifyClientError, InvalidToken
from idverify_client.jwks import JwksSource, RefreshingJwks, StaticJwks, jwks_source
from idverify_client.verifier import ExpectedBinding, TokenVerifier, VerifiedToken

try:
    __version__ = version("idverify-client")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ExpectedBinding",
    "IdVerifyClientError",
    "InvalidToken",
    "JwksSource",
    "RefreshingJwks",
    "StaticJwks",
    "TokenVerifier",
    "VerifiedToken",
    "__version__",
    "jwks_source",
    "payout_account_hash",
]
