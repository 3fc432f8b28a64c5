"""Signing evidence bundles with the service's token key, so a bureau or court can check them with the JWKS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from joserfc import jws

from idverify.client.claims import ALGORITHM
from idverify.client.jose import REGISTRY
from idverify.tokens.keys import KeyRing

EVIDENCE_MEDIA_TYPE = "idverify-evidence+jwt"


def sign_bundle(key_ring: KeyRing, bundle: Mapping[str, Any]) -> str:
    """A compact JWS (EdDSA, active key, ``kid`` in the header) whose payload is the canonical JSON bundle."""
    key = key_ring.active
    payload = json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": EVIDENCE_MEDIA_TYPE}
    return str(jws.serialize_compact(header, payload, key.signing_jwk, registry=REGISTRY))
