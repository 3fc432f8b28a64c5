"""The key ring: RFC 8037 vectors, files and permissions, rotation and grace, and keeping private keys private."""

from __future__ import annotations

import base64
import json
import logging
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws

from idverify.client.jose import REGISTRY
from idverify.tokens.keys import KeyRing, KeyRingError, RingKey
from tests.fakes import FixedClock, SeededRandom

# RFC 8037 appendix A.1 (private key), A.3 (thumbprint), A.4 (signature)
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


class RfcSeed:
    """A Random that hands out the RFC 8037 private key as the next 32 bytes."""

    def token_bytes(self, n: int) -> bytes:
        assert n == 32
        return base64.urlsafe_b64decode(RFC8037_D + "=")

    def randbelow(self, n: int) -> int:
        return 0


def _private_texts(key: RingKey) -> list[str]:
    """Every spelling of the private key a leak could take."""
    assert key.private_key is not None
    raw = key.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    body = "".join(pem.splitlines()[1:-1])
    return [base64.urlsafe_b64encode(raw).decode().rstrip("="), base64.b64encode(raw).decode().rstrip("="),
            raw.hex(), body[:40], body[-20:]]


def test_kid_is_the_rfc7638_thumbprint_from_rfc8037(clock: FixedClock) -> None:
    key = RingKey.new(clock.now(), RfcSeed())
    assert key.kid == RFC8037_THUMBPRINT
    assert key.public_jwk()["x"] == RFC8037_X


def test_signing_through_our_registry_reproduces_the_rfc8037_signature(clock: FixedClock) -> None:
    key = RingKey.new(clock.now(), RfcSeed())
    token = jws.serialize_compact({"alg": "EdDSA"}, b"Example of Ed25519 signing", key.signing_jwk, registry=REGISTRY)
    assert token == RFC8037_JWS


def test_jwks_lists_public_members_only(ring: KeyRing, clock: FixedClock) -> None:
    (entry,) = ring.jwks(clock.now())["keys"]
    assert entry == {"kty": "OKP", "crv": "Ed25519", "x": entry["x"], "kid": ring.active.kid, "use": "sig",
                     "alg": "EdDSA"}


def test_saved_files_are_0600_in_a_0700_directory_and_load_back(
    tmp_path: Path, ring: KeyRing, clock: FixedClock
) -> None:
    directory = tmp_path / "keys"
    ring.save_dir(directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(p.name for p in directory.iterdir())
    assert files == sorted([f"{ring.active.kid}.key.pem", "index.json"])
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    loaded = KeyRing.load_dir(directory)
    assert loaded.active.kid == ring.active.kid
    assert loaded.active.created_at == ring.active.created_at
    assert loaded.jwks(clock.now()) == ring.jwks(clock.now())


def test_rotation_retires_the_old_key_publicly_and_deletes_its_private_file(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, rnd: SeededRandom
) -> None:
    ring.save_dir(tmp_path)
    old = ring.active
    clock.advance(86400)
    rotated = KeyRing.load_dir(tmp_path).rotated(clock.now(), rnd)
    rotated.save_dir(tmp_path)
    reloaded = KeyRing.load_dir(tmp_path)
    assert reloaded.active.kid != old.kid
    assert [k.kid for k in reloaded.verification_keys(clock.now())] == [reloaded.active.kid, old.kid]
    retired = next(k for k in reloaded.keys if k.kid == old.kid)
    assert retired.private_key is None
    assert retired.retired_at == clock.now()
    assert not (tmp_path / f"{old.kid}.key.pem").exists()
    assert (tmp_path / f"{old.kid}.pub.pem").exists()
    assert "PRIVATE" not in (tmp_path / f"{old.kid}.pub.pem").read_text()


def test_a_retired_key_stays_in_the_jwks_until_ttl_plus_leeway_then_is_dropped(
    ring: KeyRing, clock: FixedClock, rnd: SeededRandom
) -> None:
    old = ring.active.kid
    rotated = ring.rotated(clock.now(), rnd)
    grace_end = clock.now() + timedelta(seconds=3600 + 30)
    assert rotated.grace_ends_at(rotated.keys[1]) == grace_end
    kids_before = [k["kid"] for k in rotated.jwks(grace_end - timedelta(seconds=1))["keys"]]
    kids_after = [k["kid"] for k in rotated.jwks(grace_end)["keys"]]
    assert old in kids_before
    assert old not in kids_after
    assert rotated.public_key(old, grace_end - timedelta(seconds=1)) is not None
    assert rotated.public_key(old, grace_end) is None


def test_rotating_again_after_the_grace_prunes_the_oldest_key(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, rnd: SeededRandom
) -> None:
    first = ring.active.kid
    clock.advance(86400)
    second_ring = ring.rotated(clock.now(), rnd)
    second_ring.save_dir(tmp_path)
    clock.advance(86400)
    third_ring = second_ring.rotated(clock.now(), rnd)
    third_ring.save_dir(tmp_path)
    assert first not in {k.kid for k in third_ring.keys}
    assert not any(first in p.name for p in tmp_path.iterdir())
    assert len(third_ring.keys) == 2


def test_a_ring_needs_exactly_one_active_key(ring: KeyRing, clock: FixedClock, rnd: SeededRandom) -> None:
    with pytest.raises(KeyRingError):
        KeyRing([])
    with pytest.raises(KeyRingError):
        KeyRing([ring.active, RingKey.new(clock.now(), rnd)])


def test_a_key_file_that_does_not_match_its_kid_is_refused(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, rnd: SeededRandom
) -> None:
    ring.save_dir(tmp_path)
    other = KeyRing.generate(clock.now(), rnd)
    other.save_dir(tmp_path / "other")
    (tmp_path / f"{ring.active.kid}.key.pem").write_bytes(
        (tmp_path / "other" / f"{other.active.kid}.key.pem").read_bytes()
    )
    with pytest.raises(KeyRingError, match="does not match its kid"):
        KeyRing.load_dir(tmp_path)


@pytest.mark.parametrize(
    "index",
    [
        "not json",
        '{"format": "other", "keys": []}',
        '{"format": "idverify-keyring-v1", "keys": []}',
        '{"format": "idverify-keyring-v1", "keys": [{"kid": "../x", "created_at": "2026-01-01T00:00:00Z"}]}',
        '{"format": "idverify-keyring-v1", "keys": [{"kid": "abc", "created_at": "2026-01-01T00:00:00"}]}',
    ],
)
def test_a_malformed_index_is_refused(tmp_path: Path, index: str) -> None:
    (tmp_path / "index.json").write_text(index)
    with pytest.raises(KeyRingError):
        KeyRing.load_dir(tmp_path)


def test_from_env_value_accepts_a_single_pem(ring: KeyRing) -> None:
    assert ring.active.private_key is not None
    pem = ring.active.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert KeyRing.from_env_value(pem).active.kid == ring.active.kid


def test_from_env_value_accepts_an_index_with_inline_pems(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, rnd: SeededRandom
) -> None:
    rotated = ring.rotated(clock.now(), rnd)
    rotated.save_dir(tmp_path)
    index = json.loads((tmp_path / "index.json").read_text())
    for entry in index["keys"]:
        suffix = "key" if entry["retired_at"] is None else "pub"
        entry["pem"] = (tmp_path / f"{entry['kid']}.{suffix}.pem").read_text()
    loaded = KeyRing.from_env_value(json.dumps(index))
    assert loaded.jwks(clock.now()) == rotated.jwks(clock.now())


@pytest.mark.parametrize("value", ["", "{}", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"])
def test_from_env_value_refuses_garbage(value: str) -> None:
    with pytest.raises(KeyRingError):
        KeyRing.from_env_value(value)


def test_private_keys_never_appear_in_repr_str_logs_or_errors(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, rnd: SeededRandom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ring.save_dir(tmp_path)
    rotated = KeyRing.load_dir(tmp_path).rotated(clock.now(), rnd)
    rotated.save_dir(tmp_path)
    pem_path = tmp_path / f"{rotated.active.kid}.key.pem"
    pem = pem_path.read_text()
    errors = []
    for broken in (pem.replace("MC4CAQAw", "MC4CAQBw"), pem[:-40], pem.replace("-----END", "junk-----END")):
        try:
            KeyRing.from_env_value(broken)
        except KeyRingError as exc:
            errors.append(f"{exc!s} {exc!r} {exc.__cause__!r} {exc.__context__!r}")
    texts = [repr(rotated), str(rotated), *(repr(k) for k in rotated.keys), *(str(k) for k in rotated.keys),
             caplog.text, *errors]
    assert len(errors) == 3
    assert "KeyRing(active=" in texts[0]
    for secret in _private_texts(rotated.active) + _private_texts(ring.active):
        for text in texts:
            assert secret not in text


def test_key_generation_takes_its_seed_from_the_injected_random(clock: FixedClock) -> None:
    assert RingKey.new(clock.now(), SeededRandom(3)).kid == RingKey.new(clock.now(), SeededRandom(3)).kid
    assert RingKey.new(clock.now(), SeededRandom(3)).kid != RingKey.new(clock.now(), SeededRandom(4)).kid
