"""Capture evidence adapters: per-capture ECDSA P-256 keys (as WebCrypto makes and uses them), the development
attestor, and the liveness capture records on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from idverify.attestation.capture_key import EcdsaCaptureKeys
from idverify.attestation.platform import NoPlatformAttestor, SharedSecretAttestor
from idverify.domain.errors import InvalidArgument
from idverify.factors.liveness import frame_message
from idverify.storage.engine import make_engine
from idverify.storage.migrate import upgrade
from idverify.storage.sql_liveness import SqlLivenessCaptures
from idverify.usecases.face import CaptureRecord, attestation_binding


def b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()


def jwk_of(key: ec.EllipticCurvePrivateKey) -> str:
    numbers = key.public_key().public_numbers()
    return json.dumps({"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "ext": True,
                       "key_ops": ["verify"]})


def p1363(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_a_frame_signed_by_the_capture_key_verifies_and_anything_changed_does_not() -> None:
    keys = EcdsaCaptureKeys()
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = keys.normalise(jwk_of(key))
    message = frame_message(b"jpeg-bytes", "ab" * 16, 3, 1_800_000_000_123)
    signature = p1363(key, message)
    assert keys.verify(jwk, message, signature)
    assert not keys.verify(jwk, frame_message(b"jpeg-bytez", "ab" * 16, 3, 1_800_000_000_123), signature)
    assert not keys.verify(jwk, frame_message(b"jpeg-bytes", "ab" * 16, 4, 1_800_000_000_123), signature)
    assert not keys.verify(jwk, frame_message(b"jpeg-bytes", "ab" * 16, 3, 1_800_000_000_124), signature)
    assert not keys.verify(jwk, frame_message(b"jpeg-bytes", "cd" * 16, 3, 1_800_000_000_123), signature)
    assert not keys.verify(jwk, message, signature[:63])
    other = ec.generate_private_key(ec.SECP256R1())
    assert not keys.verify(keys.normalise(jwk_of(other)), message, signature)


def test_the_normalised_key_is_canonical_and_public_only() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    canonical = json.loads(EcdsaCaptureKeys().normalise(jwk_of(key)))
    assert set(canonical) == {"kty", "crv", "x", "y"}


@pytest.mark.parametrize("jwk", [
    "not json", "[]", '{"kty":"RSA","n":"AQAB","e":"AQAB"}', '{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}',
    '{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}', '{"kty":"EC","crv":"P-256","x":5,"y":6}',
    json.dumps({"kty": "EC", "crv": "P-256", "x": b64(1), "y": b64(2)}),  # not on the curve
    "x" * 5000,
])
def test_unusable_capture_keys_are_refused(jwk: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        EcdsaCaptureKeys().normalise(jwk)
    assert caught.value.code == "capture_key_invalid"


def test_a_private_jwk_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private = json.loads(jwk_of(key)) | {"d": b64(key.private_numbers().private_value)}
    with pytest.raises(InvalidArgument):
        EcdsaCaptureKeys().normalise(json.dumps(private))


def test_attestors_judge_only_what_they_can() -> None:
    binding = attestation_binding("vs_1", '{"kty":"EC"}')
    assert len(binding) == 64
    assert binding != attestation_binding("vs_2", '{"kty":"EC"}')
    assert NoPlatformAttestor().judge("play_integrity", b"anything", binding) is None
    dev = SharedSecretAttestor(b"s" * 32)
    assert dev.judge("app_attest", dev.token_for("app_attest", binding), binding) == "genuine"
    assert dev.judge("app_attest", dev.token_for("app_attest", binding), "other") == "failed"
    assert dev.judge("app_attest", dev.token_for("play_integrity", binding), binding) == "failed"
    assert dev.judge("web", b"", binding) is None


def test_capture_records_round_trip_and_expire(tmp_path: Path, db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    store = SqlLivenessCaptures(engine)
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    record = CaptureRecord(challenge_id="lc_1", session_id="vs_1", light=((0xFFFFFF, 400), (0xFF0000, 350)),
                           mirrored=True, capture_key='{"crv":"P-256"}', attestation="genuine",
                           expires_at=now + timedelta(minutes=45))
    store.put(record)
    assert store.get("lc_1") == record
    assert store.get("lc_2") is None
    assert store.purge(now + timedelta(hours=1)) == 1
    assert store.get("lc_1") is None
