"""The Ed25519 key ring that signs verification tokens, and the JWKS that publishes its public half.

One active key signs; older keys stay for verification only. A key retired at ``retired_at`` may still have signed a
token a moment before, valid for up to ``max_token_ttl_s`` (+ ``leeway_s`` of clock skew), so its public key stays
in the JWKS until ``retired_at + max_token_ttl_s + leeway_s`` and is dropped after that. Retired keys keep no
private half: rotation deletes it.

``kid`` is the RFC 7638 thumbprint of the public key: unique, checkable against the key itself (a mislabelled file
is refused on load), and free of metadata such as dates or host names.

On disk (``KeyRing.load_dir`` / ``save_dir``), every file mode 0600 in a 0700 directory::

    index.json          {"format": "idverify-keyring-v1",
                         "keys": [{"kid": "...", "created_at": "2026-11-01T09:00:00Z", "retired_at": null}, ...]}
    <kid>.key.pem       PKCS#8 private key of the active key
    <kid>.pub.pem       SubjectPublicKeyInfo of each retired key

In one environment variable (``KeyRing.from_env_value``): the same index document with each entry carrying its
PEM in ``"pem"``, or simply one PKCS#8 PEM private key (a ring of one key, created at the Unix epoch).

Private key material never appears in ``repr``, ``str``, logs or exception messages.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from joserfc.jwk import OKPKey

from idverify.client.claims import ALGORITHM, KID_PATTERN, MAX_LIFETIME_S
from idverify.domain.ports import Random

_log = logging.getLogger(__name__)

FORMAT: Final = "idverify-keyring-v1"
INDEX_FILE: Final = "index.json"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class KeyRingError(ValueError):
    """A key ring that cannot be loaded or used. The message names files or kids, never key material."""


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key."""
    return OKPKey.import_key(public_key).thumbprint()


@dataclass(frozen=True)
class RingKey:
    """One key of the ring. ``private_key`` is set only on the active key; ``retired_at`` only on retired keys."""

    kid: str
    created_at: datetime
    retired_at: datetime | None
    public_key: Ed25519PublicKey = field(repr=False, compare=False)
    private_key: Ed25519PrivateKey | None = field(default=None, repr=False, compare=False)

    @classmethod
    def new(cls, now: datetime, random: Random) -> RingKey:
        """A fresh active key whose 32-byte seed comes from ``random``."""
        private = Ed25519PrivateKey.from_private_bytes(random.token_bytes(32))
        public = private.public_key()
        return cls(thumbprint(public), now, None, public, private)

    @cached_property
    def verifying_jwk(self) -> OKPKey:
        """The public key as a joserfc key (what verifiers use)."""
        return OKPKey.import_key(self.public_key)

    @cached_property
    def signing_jwk(self) -> OKPKey:
        """The private key as a joserfc key. Raises ``KeyRingError`` on a verification-only key."""
        if self.private_key is None:
            raise KeyRingError(f"key {self.kid} is verification-only")
        return OKPKey.import_key(self.private_key)

    def public_jwk(self) -> dict[str, str]:
        """The JWKS entry for this key (public members only), a fresh dict the caller may change."""
        return dict(self._public_jwk)

    @cached_property
    def _public_jwk(self) -> dict[str, str]:
        # Exported once per key: joserfc's export cost about 3 us a key on every GetJwks.
        x = self.verifying_jwk.as_dict(private=False)["x"]
        return {"kty": "OKP", "crv": "Ed25519", "x": str(x), "kid": self.kid, "use": "sig", "alg": ALGORITHM}


class KeyRing:
    """One active signing key and the verification-only keys still inside their grace period (see module doc)."""

    def __init__(
        self, keys: Iterable[RingKey], *, max_token_ttl_s: int = MAX_LIFETIME_S, leeway_s: int = 30
    ) -> None:
        self.keys: tuple[RingKey, ...] = tuple(keys)
        self.max_token_ttl_s = max_token_ttl_s
        self.leeway_s = leeway_s
        active = [k for k in self.keys if k.retired_at is None]
        if len(active) != 1 or active[0].private_key is None:
            raise KeyRingError("a key ring needs exactly one active key with its private key")
        if len({k.kid for k in self.keys}) != len(self.keys):
            raise KeyRingError("duplicate kid in key ring")
        self.active: RingKey = active[0]

    def __repr__(self) -> str:
        retired = [k.kid for k in self.keys if k is not self.active]
        return f"KeyRing(active={self.active.kid!r}, verification_only={retired!r})"

    @classmethod
    def generate(cls, now: datetime, random: Random, **options: int) -> KeyRing:
        """A ring of one new key."""
        return cls([RingKey.new(now, random)], **options)

    def grace_ends_at(self, key: RingKey) -> datetime | None:
        """When a retired key leaves the JWKS (None for the active key)."""
        if key.retired_at is None:
            return None
        return key.retired_at + timedelta(seconds=self.max_token_ttl_s + self.leeway_s)

    def verification_keys(self, now: datetime) -> tuple[RingKey, ...]:
        """The active key first, then retired keys still within their grace period."""
        live = [k for k in self.keys if k.retired_at is not None and now < self._grace_end(k)]
        return (self.active, *live)

    def public_key(self, kid: str, now: datetime) -> OKPKey | None:
        """The verification key named ``kid`` at ``now`` (the ``JwksSource`` protocol), or None."""
        for key in self.verification_keys(now):
            if key.kid == kid:
                return key.verifying_jwk
        return None

    def jwks(self, now: datetime) -> dict[str, Any]:
        """The public JWKS to publish at ``now``."""
        return {"keys": [k.public_jwk() for k in self.verification_keys(now)]}

    def rotated(self, now: datetime, random: Random) -> KeyRing:
        """A new ring: a fresh active key, the old one retired at ``now`` without its private half, expired keys
        dropped."""
        old = replace(self.active, retired_at=now, private_key=None)
        others = [k for k in self.keys if k is not self.active]
        ring = KeyRing(
            [RingKey.new(now, random), old, *others], max_token_ttl_s=self.max_token_ttl_s, leeway_s=self.leeway_s
        )
        return ring.pruned(now)

    def pruned(self, now: datetime) -> KeyRing:
        """The same ring without the retired keys whose grace period is over."""
        keep = self.verification_keys(now)
        return KeyRing(keep, max_token_ttl_s=self.max_token_ttl_s, leeway_s=self.leeway_s)

    def _grace_end(self, key: RingKey) -> datetime:
        end = self.grace_ends_at(key)
        assert end is not None  # only called for retired keys
        return end

    # --- persistence -------------------------------------------------------------------------------------------

    @classmethod
    def load_dir(cls, directory: Path, **options: int) -> KeyRing:
        """Load ``index.json`` and the PEM files it names. Raises ``KeyRingError``."""
        entries = _read_index((directory / INDEX_FILE).read_bytes(), source=INDEX_FILE)
        keys = []
        for kid, created_at, retired_at, _ in entries:
            name = f"{kid}.key.pem" if retired_at is None else f"{kid}.pub.pem"
            path = directory / name
            if retired_at is None and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                _log.warning("key_file_readable_by_others", extra={"kid": kid})
            keys.append(_ring_key(kid, created_at, retired_at, path.read_bytes(), source=name))
        return cls(keys, **options)

    def save_dir(self, directory: Path) -> None:
        """Write the ring (files 0600, directory 0700), index last, then delete files of keys no longer in it."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        wanted = {INDEX_FILE}
        for key in self.keys:
            if key.private_key is not None:
                name, pem = f"{key.kid}.key.pem", _private_pem(key.private_key)
            else:
                name, pem = f"{key.kid}.pub.pem", _public_pem(key.public_key)
            wanted.add(name)
            if not (directory / name).exists():
                _write_private_file(directory / name, pem)
        index = {"format": FORMAT, "keys": [_index_entry(k) for k in self.keys]}
        _write_private_file(directory / INDEX_FILE, json.dumps(index, indent=2).encode() + b"\n")
        for path in directory.glob("*.pem"):
            if path.name not in wanted:
                path.unlink()
        _log.info("key_ring_saved", extra={"active_kid": self.active.kid, "key_count": len(self.keys)})

    @classmethod
    def from_env_value(cls, value: str, **options: int) -> KeyRing:
        """A ring from one environment-variable value: the index JSON with inline ``"pem"`` members, or a single
        PKCS#8 PEM private key. Raises ``KeyRingError``."""
        text = value.strip()
        if text.startswith("-----BEGIN"):
            private = _load_private(text.encode(), source="environment value")
            kid = thumbprint(private.public_key())
            return cls([RingKey(kid, _EPOCH, None, private.public_key(), private)], **options)
        keys = []
        for kid, created_at, retired_at, pem in _read_index(text.encode(), source="environment value"):
            if pem is None:
                raise KeyRingError(f"environment value: key {kid} has no 'pem'")
            keys.append(_ring_key(kid, created_at, retired_at, pem.encode(), source=f"key {kid}"))
        return cls(keys, **options)


def _index_entry(key: RingKey) -> dict[str, str | None]:
    return {
        "kid": key.kid,
        "created_at": _iso(key.created_at),
        "retired_at": None if key.retired_at is None else _iso(key.retired_at),
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _read_index(data: bytes, *, source: str) -> list[tuple[str, datetime, datetime | None, str | None]]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyRingError(f"{source}: not JSON") from None
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise KeyRingError(f"{source}: expected format {FORMAT!r}")
    entries = document.get("keys")
    if not isinstance(entries, list) or not entries:
        raise KeyRingError(f"{source}: 'keys' must be a non-empty list")
    return [_index_row(entry, source) for entry in entries]


def _index_row(entry: object, source: str) -> tuple[str, datetime, datetime | None, str | None]:
    if not isinstance(entry, Mapping):
        raise KeyRingError(f"{source}: each key entry must be an object")
    kid, pem = entry.get("kid"), entry.get("pem")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise KeyRingError(f"{source}: malformed kid")
    if pem is not None and not isinstance(pem, str):
        raise KeyRingError(f"{source}: key {kid}: 'pem' must be a string")
    created_at = _parse_time(entry.get("created_at"), f"{source}: key {kid}: created_at")
    raw_retired = entry.get("retired_at")
    retired_at = None if raw_retired is None else _parse_time(raw_retired, f"{source}: key {kid}: retired_at")
    return kid, created_at, retired_at, pem


def _parse_time(value: object, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise KeyRingError(f"{what}: expected an ISO 8601 time with a UTC offset")
    return moment.astimezone(UTC)


def _ring_key(kid: str, created_at: datetime, retired_at: datetime | None, pem: bytes, *, source: str) -> RingKey:
    private: Ed25519PrivateKey | None = None
    if retired_at is None:
        private = _load_private(pem, source=source)
        public = private.public_key()
    else:
        public = _load_public(pem, source=source)
    if thumbprint(public) != kid:
        raise KeyRingError(f"{source}: key does not match its kid")
    return RingKey(kid, created_at, retired_at, public, private)


def _load_private(pem: bytes, *, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyRingError(f"{source}: not an unencrypted Ed25519 private key in PEM") from None
    return key


def _load_public(pem: bytes, *, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyRingError(f"{source}: not an Ed25519 public key in PEM") from None
    return key


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 from the first byte (no window with wider permissions)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
