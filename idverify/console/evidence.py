"""Checks the signature of an evidence bundle against the service's published keys (JWKS), so the page can say
whether the bundle a staff member downloads is the one the service signed."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: JOSE names for Ed25519 signatures: RFC 8037's "EdDSA" and RFC 9864's "Ed25519".
_ALGORITHMS = frozenset({"EdDSA", "Ed25519"})
#: Only evidence bundles, never a verification token or anything else the same key signs.
EVIDENCE_TYPE = "idverify-evidence+jwt"


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    valid: bool
    kid: str
    problem: str  # "" when valid; else a stable code shown to staff
    payload: dict[str, Any] | None


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_signature(compact: str, jwks_json: str) -> SignatureCheck:
    """Verify an Ed25519 compact JWS against a JWKS; never raises for bad input."""
    try:
        header_b64, payload_b64, signature_b64 = compact.split(".")
        header = json.loads(_b64(header_b64))
        keys = json.loads(jwks_json).get("keys", [])
    except (ValueError, AttributeError):
        return SignatureCheck(False, "", "evidence_malformed", None)
    kid = str(header.get("kid", ""))
    if header.get("typ") != EVIDENCE_TYPE:
        return SignatureCheck(False, kid, "evidence_type_unexpected", None)
    if header.get("alg") not in _ALGORITHMS:
        return SignatureCheck(False, kid, "evidence_algorithm_unexpected", None)
    jwk = next((k for k in keys if k.get("kid") == kid and k.get("kty") == "OKP" and k.get("crv") == "Ed25519"), None)
    if jwk is None:
        return SignatureCheck(False, kid, "evidence_key_unknown", None)
    try:
        Ed25519PublicKey.from_public_bytes(_b64(jwk["x"])).verify(_b64(signature_b64),
                                                                  f"{header_b64}.{payload_b64}".encode())
        payload = json.loads(_b64(payload_b64))
    except (InvalidSignature, ValueError, KeyError):
        return SignatureCheck(False, kid, "evidence_signature_invalid", None)
    return SignatureCheck(True, kid, "", payload if isinstance(payload, dict) else None)
