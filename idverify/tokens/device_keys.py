"""Device keys held by a person's phone: parse a public JWK, name it by its RFC 7638 thumbprint, check signatures.

Phones make keys in secure hardware in two kinds: ECDSA P-256 (Android Keystore, iOS Secure Enclave, WebCrypto)
and Ed25519 (some Android devices). ES256 signatures arrive as the 64-byte r||s form (WebCrypto, JOSE) or DER
(the platform APIs); both are accepted. joserfc imports and thumbprints the JWK (refusing private members is done
here); cryptography verifies.
"""

from __future__ import annotations

import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc.jwk import ECKey, OKPKey

from idverify.domain.errors import InvalidArgument
from idverify.domain.ports import DevicePublicKey

_MAX_JWK = 1024
_ALLOWED = {("EC", "P-256"): "ES256", ("OKP", "Ed25519"): "EdDSA"}
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


def _invalid(detail: str) -> InvalidArgument:
    return InvalidArgument("device_key_invalid", f"the device public key is not usable: {detail}")


def _import(jwk: str) -> tuple[ECKey | OKPKey, str]:
    if not isinstance(jwk, str) or not jwk or len(jwk) > _MAX_JWK:
        raise _invalid("give a JWK as JSON text")
    try:
        data = json.loads(jwk)
    except ValueError:
        raise _invalid("not JSON") from None
    if not isinstance(data, dict):
        raise _invalid("not a JSON object")
    if _PRIVATE_MEMBERS & set(data):
        raise _invalid("it holds private key material; send the public key only")
    algorithm = _ALLOWED.get((data.get("kty"), data.get("crv")))  # type: ignore[arg-type]
    if algorithm is None:
        raise _invalid("only EC P-256 and OKP Ed25519 keys are accepted")
    public = {k: data[k] for k in (("kty", "crv", "x", "y") if data["kty"] == "EC" else ("kty", "crv", "x"))
              if k in data}
    try:
        key: ECKey | OKPKey = ECKey.import_key(public) if data["kty"] == "EC" else OKPKey.import_key(public)
    except Exception:  # noqa: BLE001 - joserfc raises several types for malformed members; all mean "invalid"
        raise _invalid("malformed key members") from None
    return key, algorithm


class JoseDeviceKeys:
    """Satisfies ``idverify.domain.ports.DeviceKeys``."""

    def parse(self, jwk: str) -> DevicePublicKey:
        key, algorithm = _import(jwk)
        canonical = json.dumps(key.as_dict(private=False), sort_keys=True, separators=(",", ":"))
        return DevicePublicKey(key_id=key.thumbprint(), algorithm=algorithm, jwk=canonical)

    def verify(self, jwk: str, message: bytes, signature: bytes) -> bool:
        key, algorithm = _import(jwk)
        public = key.public_key
        try:
            if algorithm == "EdDSA":
                assert isinstance(public, Ed25519PublicKey)
                public.verify(signature, message)
                return True
            assert isinstance(public, ec.EllipticCurvePublicKey)
            der = signature
            if len(signature) == 64:  # r||s (IEEE P1363), as WebCrypto and JOSE write it
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                           int.from_bytes(signature[32:], "big"))
            public.verify(der, message, ec.ECDSA(hashes.SHA256()))
            return True
        except (InvalidSignature, ValueError):
            return False
