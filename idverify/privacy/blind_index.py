"""Keyed blind indexes: HMAC-SHA256 over a normalised identifier, for equality lookups without plaintext.

Each kind of identifier is indexed under its own label, so the same string as a phone and as a device id gives
unrelated digests. The index key is separate from the encryption keys; rotating it means recomputing every index
(from the encrypted values, or at the next sighting), so it rotates rarely. Anyone holding the key can test
guesses, which for 11-digit phone numbers is cheap: the key is as sensitive as the data.
"""

from __future__ import annotations

import hashlib
import hmac

from idverify.privacy.normalise import (
    normalise_id_number,
    normalise_ip,
    normalise_opaque,
    normalise_phone,
)

_LABEL = b"idverify.blind-index.v1"


class BlindIndex:
    """Digests (64 hex characters) of identifiers in their normal form."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the blind-index key needs at least 32 bytes")
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "BlindIndex(key=<redacted>)"

    def of(self, kind: str, normalised: str) -> str:
        """Digest of an already-normalised value of ``kind``."""
        message = _LABEL + b"\x00" + kind.encode("ascii") + b"\x00" + normalised.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def phone(self, raw: str, *, default_country_code: str = "86") -> str:
        return self.of("phone", normalise_phone(raw, default_country_code=default_country_code))

    def id_number(self, raw: str) -> str:
        return self.of("id_number", normalise_id_number(raw))

    def device(self, raw: str) -> str:
        return self.of("device", normalise_opaque(raw, kind="device_id"))

    def ip(self, raw: str) -> str:
        return self.of("ip", normalise_ip(raw))

    def applicant(self, raw: str) -> str:
        return self.of("applicant", normalise_opaque(raw, kind="applicant_id"))
