"""Identifiers made from the injected randomness."""

from __future__ import annotations

import base64

from idverify.domain.ports import Random

# Crockford's base32 without I, L, O, U: easy to read aloud and to type from an SMS.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(random: Random, prefix: str, nbytes: int = 16) -> str:
    """``prefix_`` plus unpadded lower-case base32 of ``nbytes`` random bytes (128 bits: unguessable)."""
    return f"{prefix}_" + base64.b32encode(random.token_bytes(nbytes)).decode().rstrip("=").lower()


def new_reference(random: Random) -> str:
    """A 10-character reference (50 bits) the applicant can quote, shown as ``XXXXX-XXXXX``."""
    chars = "".join(_REFERENCE_ALPHABET[random.randbelow(32)] for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def normalise_reference(text: str) -> str:
    """Accept what a person types: any case, spaces or no hyphen, and O/I/L read as 0/1/1."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if len(cleaned) != 10 or any(ch not in _REFERENCE_ALPHABET for ch in cleaned):
        return ""
    return f"{cleaned[:5]}-{cleaned[5:]}"
