"""Normal forms of identifiers before they are blind-indexed (standard library only).

Two spellings of one phone number or ID number must index to the same value, or equality lookups miss.
Errors name the kind of value, never the value.
"""

from __future__ import annotations

import ipaddress
import re

from idverify.domain.errors import InvalidArgument

# Matched with fullmatch: "$" would accept a trailing newline.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_DOCUMENT_NUMBER = re.compile(r"[0-9A-Z]{5,32}", re.ASCII)


def normalise_phone(raw: str, *, default_country_code: str = "86") -> str:
    """E.164 (``+8613800138000``). Accepts spaces, dashes, dots, brackets and a ``00`` international prefix;
    a bare 11-digit Chinese mobile number gets ``+86``. Raises ``InvalidArgument("phone_malformed")``."""
    text = _PHONE_SEPARATORS.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+"):
        if default_country_code == "86" and _CN_MOBILE.fullmatch(text):
            text = "+86" + text
        else:
            text = "+" + default_country_code + text.lstrip("0")
    if not _E164.fullmatch(text):
        raise InvalidArgument("phone_malformed", "the phone number is not a valid E.164 number")
    return text


def normalise_id_number(raw: str) -> str:
    """Upper case without spaces or dashes (``11010519491231002x`` -> ``11010519491231002X``).
    Raises ``InvalidArgument("id_number_malformed")``."""
    text = re.sub(r"[\s\-]", "", raw).upper()
    if not _DOCUMENT_NUMBER.fullmatch(text):
        raise InvalidArgument("id_number_malformed", "the ID number has invalid characters or length")
    return text


def normalise_ip(raw: str) -> str:
    """Canonical text of an IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4).
    Raises ``InvalidArgument("ip_malformed")``."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError as exc:
        raise InvalidArgument("ip_malformed", "the client IP is not an IPv4 or IPv6 address") from exc
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed


def normalise_opaque(raw: str, *, kind: str) -> str:
    """Device ids and applicant ids: trimmed, non-empty, at most 256 characters, case kept."""
    text = raw.strip()
    if not text or len(text) > 256:
        raise InvalidArgument(f"{kind}_malformed", f"the {kind.replace('_', ' ')} is empty or too long")
    return text
