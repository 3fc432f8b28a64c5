"""Per-capture ECDSA P-256 keys (WebCrypto on the capture page) with ``cryptography``.

The page generates a non-extractable key pair for one capture, registers the public JWK at the challenge's start,
and signs each frame: ``sha256(image) || nonce || sequence (8 bytes BE) || captured_at_ms (8 bytes BE)`` with
ECDSA/SHA-256. WebCrypto returns the signature in IEEE P1363 form (``r||s``, 32 bytes each); ``cryptography``
verifies DER, so the two halves are re-encoded.
"""

from __future__ import annotations

import base64
import binascii
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from idverify.domain.errors import InvalidArgument
from idverify.factors.liveness import frame_message

__all__ = ["EcdsaCaptureKeys", "frame_message", "public_key"]

MAX_JWK_CHARS = 1024


def _b64url(value: object) -> bytes:
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidArgument("capture_key_invalid", "the capture key's coordinates must be base64url text")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InvalidArgument("capture_key_invalid", "the capture key's coordinates are not base64url") from None


def public_key(jwk: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a JWK. Raises InvalidArgument ``capture_key_invalid``."""
    if len(jwk) > MAX_JWK_CHARS:
        raise InvalidArgument("capture_key_invalid", "the capture key is too long")
    try:
        data = json.loads(jwk)
    except ValueError:
        raise InvalidArgument("capture_key_invalid", "the capture key is not a JSON object") from None
    if not isinstance(data, dict) or data.get("kty") != "EC" or data.get("crv") != "P-256" or "d" in data:
        raise InvalidArgument("capture_key_invalid", "the capture key must be a public EC P-256 JWK")
    x, y = _b64url(data.get("x")), _b64url(data.get("y"))
    if len(x) != 32 or len(y) != 32:
        raise InvalidArgument("capture_key_invalid", "the capture key's coordinates must be 32 bytes each")
    try:
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    except ValueError:
        raise InvalidArgument("capture_key_invalid", "the capture key is not a point on P-256") from None


class EcdsaCaptureKeys:
    """Satisfies ``idverify.domain.ports.CaptureKeys``."""

    def normalise(self, jwk: str) -> str:
        key = public_key(jwk).public_numbers()

        def enc(n: int) -> str:
            return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode("ascii")

        return json.dumps({"crv": "P-256", "kty": "EC", "x": enc(key.x), "y": enc(key.y)}, separators=(",", ":"))

    def verify(self, jwk: str, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        try:
            public_key(jwk).verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, InvalidArgument):
            return False
        return True
