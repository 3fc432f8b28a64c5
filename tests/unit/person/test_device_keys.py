"""Device keys: the JWK rules and signature forms phones produce, and the risk signals added at start."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, OKPKey, RSAKey

from idverify.domain.errors import InvalidArgument
from idverify.domain.session import RiskAssessment
from idverify.tokens.device_keys import JoseDeviceKeys
from idverify.usecases.person import signing_input
from idverify.usecases.risk_signals import with_device_risk

KEYS = JoseDeviceKeys()
MESSAGE = signing_input("vs_1", "dn_abc").encode()


def test_p256_signatures_verify_in_der_and_in_raw_r_s_form_and_nothing_else() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    parsed = KEYS.parse(json.dumps(ECKey.import_key(private.public_key()).as_dict(private=False)))
    assert parsed.algorithm == "ES256" and len(parsed.key_id) == 43
    der = private.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert KEYS.verify(parsed.jwk, MESSAGE, der) and KEYS.verify(parsed.jwk, MESSAGE, raw)
    assert not KEYS.verify(parsed.jwk, MESSAGE + b"x", raw)
    assert not KEYS.verify(parsed.jwk, MESSAGE, raw[:-1] + bytes([raw[-1] ^ 1]))
    assert not KEYS.verify(parsed.jwk, MESSAGE, b"\x00" * 10)


def test_ed25519_keys_verify_and_the_key_id_is_the_rfc7638_thumbprint() -> None:
    private = Ed25519PrivateKey.generate()
    jwk = OKPKey.import_key(private.public_key())
    parsed = KEYS.parse(json.dumps(jwk.as_dict(private=False)))
    assert parsed.key_id == jwk.thumbprint() and parsed.algorithm == "EdDSA"
    assert KEYS.verify(parsed.jwk, MESSAGE, private.sign(MESSAGE))
    assert not KEYS.verify(parsed.jwk, MESSAGE, Ed25519PrivateKey.generate().sign(MESSAGE))


@pytest.mark.parametrize("jwk", [
    json.dumps(ECKey.generate_key("P-256").as_dict(private=True)),    # private material sent by mistake
    json.dumps(ECKey.generate_key("P-384").as_dict(private=False)),   # not a curve phones use here
    json.dumps(RSAKey.generate_key(2048).as_dict(private=False)),     # RSA is not accepted
    '{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}',              # not a point
    "not json", "[]", "", "{" + " " * 2000 + "}",
])
def test_unusable_keys_are_refused_with_one_reason(jwk: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        KEYS.parse(jwk)
    assert err.value.code == "device_key_invalid"


def test_device_and_sim_swap_evidence_raise_the_risk_score_once() -> None:
    base = RiskAssessment(score=10, reason_codes=("velocity",))
    assert with_device_risk(base, unregistered=False, sim_swap="") is base
    both = with_device_risk(base, unregistered=True, sim_swap="carrier:x")
    assert both.score == 70 and both.reason_codes == ("velocity", "unregistered_device", "sim_swap_recent")
    assert with_device_risk(RiskAssessment(score=90), unregistered=True, sim_swap="c").score == 100
