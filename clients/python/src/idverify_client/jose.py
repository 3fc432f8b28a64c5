"""The one JOSE algorithm idverify signs and accepts, in a private joserfc registry.

joserfc 1.8 registers ``"EdDSA"`` (RFC 8037) with a ``SecurityWarning`` pointing at RFC 9864, whose ``"Ed25519"``
name pins the curve. We keep the ``"EdDSA"`` name on the wire for interoperability (see ``claims``) and get the
pinning another way: this algorithm refuses any key that is not OKP/Ed25519. Because the algorithm lives in a
registry of our own, joserfc's global registry and the process-wide warning filters are left untouched, and the
warning is not raised at all rather than suppressed. The registry also allows only the header members we use,
which turns off RFC 7797 (``b64``) and any other header-driven behaviour.
"""

from __future__ import annotations

from typing import Any, ClassVar

from joserfc.errors import InvalidKeyCurveError
from joserfc.jwa import EdDSAAlgorithm, JWSAlgModel
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry
from joserfc.registry import JWS_HEADER_REGISTRY, HeaderRegistryDict

from idverify_client.claims import ALGORITHM, HEADER_MEMBERS, MAX_TOKEN_BYTES


class Ed25519AsEdDSA(EdDSAAlgorithm):
    """``alg: "EdDSA"`` restricted to Ed25519 keys (the RFC 9864 guarantee under the RFC 8037 name)."""

    name = ALGORITHM
    security_warning = ""  # falsy: joserfc raises no SecurityWarning for this instance

    def check_key(self, key: Any) -> None:
        super().check_key(key)
        if not isinstance(key, OKPKey) or key.curve_name != "Ed25519":
            raise InvalidKeyCurveError("only Ed25519 keys are allowed")


class IdVerifyJWSRegistry(JWSRegistry):
    """A joserfc registry that knows exactly one algorithm and three header members."""

    algorithms: ClassVar[dict[str, JWSAlgModel]] = {}  # type: ignore[misc]
    recommended: ClassVar[list[str]] = []  # type: ignore[misc]
    default_header_registry: ClassVar[HeaderRegistryDict] = {  # type: ignore[misc]
        name: JWS_HEADER_REGISTRY[name] for name in HEADER_MEMBERS
    }
    max_header_length = 256
    max_payload_length = MAX_TOKEN_BYTES
    max_signature_length = 128


EDDSA = Ed25519AsEdDSA()
IdVerifyJWSRegistry.algorithms = {ALGORITHM: EDDSA}
IdVerifyJWSRegistry.recommended = [ALGORITHM]

#: Pass as ``registry=`` to ``joserfc.jws`` functions.
REGISTRY = IdVerifyJWSRegistry(algorithms=[ALGORITHM])
