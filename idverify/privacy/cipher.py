"""Field-level encryption: AES-256-GCM with a key ring, bound to where the value is stored.

Ciphertext layout (all of it authenticated): ``0x01 | len(kid) | kid | 12-byte nonce | ciphertext+tag``.
The associated data is the format version, the kid, and the :class:`FieldContext` (table, column, row id), so a
ciphertext copied to another row or column does not decrypt. Keys rotate by adding a new kid and making it active:
old ciphertexts still decrypt, :meth:`FieldCipher.needs_rotation` finds them and :meth:`FieldCipher.rotate`
re-encrypts them under the active key.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idverify.domain.errors import FailedPrecondition
from idverify.domain.ports import Random, SystemRandom
from idverify.privacy.keys import KeyProvider

_VERSION = 1
_NONCE_BYTES = 12
_AAD_LABEL = b"idverify.field.v1"


@dataclass(frozen=True, slots=True)
class FieldContext:
    """Where a ciphertext lives; part of the associated data."""

    table: str
    column: str
    row_id: str

    def encode(self, kid: str) -> bytes:
        """Length-prefixed fields, so ("ab", "c") and ("a", "bc") never collide."""
        parts = (_AAD_LABEL, bytes([_VERSION]), kid.encode("ascii"), *(p.encode() for p in self._fields()))
        return b"".join(struct.pack(">I", len(p)) + p for p in parts)

    def _fields(self) -> tuple[str, str, str]:
        return (self.table, self.column, self.row_id)


class FieldCipher:
    """Encrypts and decrypts single column values. Thread-safe."""

    def __init__(self, keys: KeyProvider, random: Random | None = None) -> None:
        self._keys = keys
        self._random: Random = random or SystemRandom()
        self._aeads: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FieldCipher(active_kid={self._keys.active_kid()!r})"

    def encrypt(self, value: str | bytes, aad: FieldContext) -> bytes:
        """Encrypt ``value`` (text is UTF-8 encoded) under the active key, bound to ``aad``."""
        plaintext = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        kid = self._keys.active_kid()
        kid_bytes = kid.encode("ascii")
        nonce = self._random.token_bytes(_NONCE_BYTES)
        sealed = self._aead(kid).encrypt(nonce, plaintext, aad.encode(kid))
        return bytes([_VERSION, len(kid_bytes)]) + kid_bytes + nonce + sealed

    def decrypt(self, blob: bytes, aad: FieldContext) -> bytes:
        """Decrypt ``blob`` stored at ``aad``.

        Raises ``FailedPrecondition("field_ciphertext_invalid")`` when the blob is malformed, was altered, or
        belongs to another table, column or row; ``FailedPrecondition("field_key_unknown")`` for a retired kid.
        """
        kid, nonce, sealed = _split(blob)
        try:
            return self._aead(kid).decrypt(nonce, sealed, aad.encode(kid))
        except InvalidTag as exc:
            raise FailedPrecondition("field_ciphertext_invalid", "the stored value does not authenticate") from exc

    def decrypt_text(self, blob: bytes, aad: FieldContext) -> str:
        return self.decrypt(blob, aad).decode("utf-8")

    def needs_rotation(self, blob: bytes) -> bool:
        return kid_of(blob) != self._keys.active_kid()

    def rotate(self, blob: bytes, aad: FieldContext) -> bytes:
        """Re-encrypt under the active key (unchanged bytes if already there)."""
        if not self.needs_rotation(blob):
            return blob
        return self.encrypt(self.decrypt(blob, aad), aad)

    def _aead(self, kid: str) -> AESGCM:
        with self._lock:
            aead = self._aeads.get(kid)
            if aead is None:
                aead = AESGCM(self._keys.data_key(kid))
                self._aeads[kid] = aead
            return aead


def kid_of(blob: bytes) -> str:
    """The kid a ciphertext was made with."""
    return _split(blob)[0]


def _split(blob: bytes) -> tuple[str, bytes, bytes]:
    if len(blob) < 2 or blob[0] != _VERSION:
        raise FailedPrecondition("field_ciphertext_invalid", "unknown ciphertext format")
    kid_len = blob[1]
    kid_end = 2 + kid_len
    if kid_len == 0 or len(blob) < kid_end + _NONCE_BYTES + 16:
        raise FailedPrecondition("field_ciphertext_invalid", "truncated ciphertext")
    try:
        kid = blob[2:kid_end].decode("ascii")
    except UnicodeDecodeError as exc:
        raise FailedPrecondition("field_ciphertext_invalid", "bad key id in ciphertext") from exc
    return kid, blob[kid_end : kid_end + _NONCE_BYTES], blob[kid_end + _NONCE_BYTES :]


__all__ = ["FieldCipher", "FieldContext", "kid_of"]
