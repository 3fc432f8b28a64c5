"""Parsing of caller credentials from configuration (kept apart from ``transport`` so ``config`` needs no grpc).

``IDVERIFY_API_KEYS``: comma-separated ``caller_id:role+role:sha256hex`` entries; a caller may have several
entries at once (key rotation). ``IDVERIFY_MTLS_CALLERS``: comma-separated ``common_name:role+role``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idverify.domain.callers import Role

_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ApiKeySpec:
    caller_id: str
    roles: frozenset[Role]
    key_sha256_hex: str

    def __repr__(self) -> str:
        return f"ApiKeySpec(caller_id={self.caller_id!r}, roles={sorted(self.roles)!r})"


def _roles(text: str) -> frozenset[Role]:
    roles = set()
    for name in text.split("+"):
        try:
            roles.add(Role(name.strip()))
        except ValueError:
            raise ValueError(f"unknown role {name!r} (roles: {', '.join(r.value for r in Role)})") from None
    return frozenset(roles)


def parse_api_keys(text: str) -> tuple[ApiKeySpec, ...]:
    specs = []
    for item in text.split(","):
        if not item.strip():
            continue
        parts = item.strip().split(":")
        if len(parts) != 3 or not _ID.match(parts[0]) or not _HEX.match(parts[2].lower()):
            raise ValueError("each entry must be caller_id:role+role:<sha256 hex of the key>")
        specs.append(ApiKeySpec(parts[0], _roles(parts[1]), parts[2].lower()))
    return tuple(specs)


def parse_mtls_callers(text: str) -> dict[str, frozenset[Role]]:
    out: dict[str, frozenset[Role]] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, roles = item.strip().rpartition(":")
        if not sep or not name:
            raise ValueError("each entry must be common_name:role+role")
        out[name] = _roles(roles)
    return out
