"""Audit entries, their canonical encoding, and the keyed hashes that make the trail tamper-evident (stdlib only).

Two keyed hashes (HMAC-SHA256 under the audit key, which never lives in the database):

- the **entry MAC**, computed when the entry is appended, over a random ``entry_id`` and every recorded field.
  Someone who can write the database but does not hold the key cannot edit an entry or forge a new one;
- the **chain link**, computed by the sealer, over the chain position, the entry's ``seq``, its MAC and the
  previous link. Deleting, inserting or reordering sealed entries breaks the links.

Appends therefore write one row and lock nothing shared; the sealer (``idverify.audit.sealer``) orders entries
into the chain a second or so later and signs a checkpoint of the chain head, which is exported outside the
database (the log sink) so a rewrite of the newest entries is caught even by someone who can write every table.

``details`` may hold ids, codes, scores and counts; it must never hold personal data. :func:`check_details`
refuses keys and values that look like personal data (a backstop, not a proof).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from idverify.domain.errors import InvalidArgument

GENESIS_HASH = "0" * 64
_ENTRY_DOMAIN = b"idverify.audit.entry.v2\n"
_LINK_DOMAIN = b"idverify.audit.link.v2\n"
_CHECKPOINT_DOMAIN = b"idverify.audit.checkpoint.v2\n"
_ID_DOMAIN = b"idverify.audit.entry-id.v2\n"
_ID_TAG_HEX = 16
#: Entries written before the keyed chain existed get this id (``legacy-<seq>``) from migration 0006.
LEGACY_ID_PREFIX = "legacy-"

#: Keys that name personal data; an audit entry refers to such things by id or blind index only.
_FORBIDDEN_KEYS = frozenset(
    {
        "phone", "phone_e164", "phone_number", "mobile", "id_number", "national_id", "passport_number",
        "name", "full_name", "surname", "given_name", "birth_date", "date_of_birth", "address", "email",
        "ip", "client_ip", "ip_address", "device_id", "otp", "code", "otp_code", "secret", "token",
        "image", "selfie", "embedding", "template", "payout_account", "mrz",
    }
)
_PHONE_LIKE = re.compile(r"^\+?[0-9][0-9 \-]{6,18}[0-9]$")
_ID_NUMBER_LIKE = re.compile(r"^[0-9]{17}[0-9Xx]$")
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$")
_JWT_LIKE = re.compile(r"^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: an authenticated caller id and its role ("lender_backend", "fraud_analyst", "system")."""

    caller_id: str
    role: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What happened, before it is stored. ``purpose`` is required for staff reads of personal data;
    ``details`` holds ids, codes and scores only."""

    actor: Actor
    action: str
    object_type: str
    object_id: str
    outcome: str
    reason_code: str = ""
    purpose: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored: its row ``seq`` (assigned by the database), random ``entry_id`` and MAC."""

    seq: int
    entry_id: str
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    reason_code: str
    purpose: str
    details_json: str
    entry_hash: str


class AuditKey:
    """The audit HMAC key (32 bytes or more). Its repr never shows it."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the audit key must be at least 32 bytes")
        # Keyed once; every MAC starts from a copy (the key's padding and first blocks are not hashed again).
        self._keyed = hmac.new(bytes(key), digestmod=hashlib.sha256)

    def __repr__(self) -> str:
        return "AuditKey(<redacted>)"

    def mac(self, domain: bytes, body: bytes) -> str:
        keyed = self._keyed.copy()
        keyed.update(domain + body)
        return keyed.hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only, no NaN: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def format_time(at: datetime) -> str:
    """UTC with microseconds, the precision every backend stores."""
    return normalise_time(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_time(at: datetime) -> datetime:
    """``at`` in UTC; :func:`format_time` keeps all of it (a datetime holds microseconds, as the format does)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime in an audit entry")
    return at.astimezone(UTC)


def check_details(details: Mapping[str, Any]) -> None:
    """Refuse details that name or look like personal data.

    Raises ``InvalidArgument("audit_details_personal_data")`` for a forbidden key or a value shaped like a phone
    number, Chinese ID number, e-mail address or JWT; ``InvalidArgument("audit_details_unsupported")`` for values
    that are not JSON scalars, lists or string-keyed mappings. The message names the key, never the value.
    """
    _check_value("details", details)


def _check_value(key: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidArgument("audit_details_unsupported", "details keys must be strings")
            if k.lower() in _FORBIDDEN_KEYS:
                raise InvalidArgument("audit_details_personal_data", f"details key {k!r} names personal data")
            _check_value(k, v)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_value(key, v)
    elif isinstance(value, str):
        if any(p.match(value) for p in (_PHONE_LIKE, _ID_NUMBER_LIKE, _EMAIL_LIKE, _JWT_LIKE)):
            raise InvalidArgument("audit_details_personal_data", f"details value of {key!r} looks like personal data")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument("audit_details_unsupported", f"details value of {key!r} is not finite")
    elif value is not None and not isinstance(value, bool | int):
        raise InvalidArgument("audit_details_unsupported", f"details value of {key!r} is not JSON")


def entry_mac(key: AuditKey, stored: StoredEntry) -> str:
    """The entry MAC: HMAC-SHA256 (hex) over the domain label and the canonical JSON of every field but ``seq``
    (the database assigns it after the MAC is made; the chain link binds it)."""
    body = canonical_json(
        {
            "entry_id": stored.entry_id,
            "at": format_time(stored.at),
            "actor_id": stored.actor_id,
            "actor_role": stored.actor_role,
            "action": stored.action,
            "object_type": stored.object_type,
            "object_id": stored.object_id,
            "outcome": stored.outcome,
            "reason_code": stored.reason_code,
            "purpose": stored.purpose,
            "details": stored.details_json,
        }
    )
    return key.mac(_ENTRY_DOMAIN, body.encode("ascii"))


def new_entry_id(key: AuditKey, nonce: bytes) -> str:
    """A random entry id that carries its own tag (``nonce hex`` + 16 hex of HMAC): verification can tell an entry
    the service wrote and someone edited (the id is genuine) from one someone inserted (it is not)."""
    return nonce.hex() + key.mac(_ID_DOMAIN, nonce)[:_ID_TAG_HEX]


def entry_id_is_genuine(key: AuditKey, entry_id: str) -> bool:
    """Whether ``entry_id`` was made by :func:`new_entry_id` under ``key``."""
    nonce_hex, tag = entry_id[:-_ID_TAG_HEX], entry_id[-_ID_TAG_HEX:]
    try:
        nonce = bytes.fromhex(nonce_hex)
    except ValueError:
        return False
    return len(nonce) > 0 and hmac.compare_digest(key.mac(_ID_DOMAIN, nonce)[:_ID_TAG_HEX], tag)


def chain_link(key: AuditKey, *, position: int, entry_seq: int, entry_mac: str, prev_hash: str) -> str:
    """The chain hash at ``position``: binds the entry (its seq and MAC) to everything sealed before it."""
    body = f"{position}\n{entry_seq}\n{entry_mac}\n{prev_hash}"
    return key.mac(_LINK_DOMAIN, body.encode("ascii"))


def prepare(entry: AuditEntry, *, entry_id: str, at: datetime, key: AuditKey) -> StoredEntry:
    """Check ``entry``'s details and make its stored form with its MAC (``seq`` 0 until the database assigns it)."""
    check_details(entry.details)
    unsigned = StoredEntry(
        seq=0,
        entry_id=entry_id,
        at=normalise_time(at),
        actor_id=entry.actor.caller_id,
        actor_role=entry.actor.role,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        outcome=entry.outcome,
        reason_code=entry.reason_code,
        purpose=entry.purpose,
        details_json=canonical_json(dict(entry.details)),
        entry_hash="",
    )
    return replace(unsigned, entry_hash=entry_mac(key, unsigned))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the chain head: ``position`` entries sealed, the last link ``chain_hash``, the highest
    entry ``seq`` sealed so far. Exported outside the database so a rewrite of the trail is caught."""

    position: int
    chain_hash: str
    max_entry_seq: int
    at: datetime
    kid: str
    signature: bytes

    def message(self) -> bytes:
        return checkpoint_message(position=self.position, chain_hash=self.chain_hash,
                                  max_entry_seq=self.max_entry_seq, at=self.at, kid=self.kid)

    def to_json(self) -> dict[str, Any]:
        """The exported form (hex signature: it survives log redaction, which masks long digit runs)."""
        return {"position": self.position, "chain_hash": self.chain_hash, "max_entry_seq": self.max_entry_seq,
                "at": format_time(self.at), "kid": self.kid, "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Parse an exported checkpoint; raises ``ValueError`` when a field is missing or malformed."""
        try:
            return cls(position=int(data["position"]), chain_hash=str(data["chain_hash"]),
                       max_entry_seq=int(data["max_entry_seq"]),
                       at=datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00")),
                       kid=str(data["kid"]), signature=bytes.fromhex(str(data["signature"])))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an audit checkpoint: {exc}") from None


def checkpoint_message(*, position: int, chain_hash: str, max_entry_seq: int, at: datetime, kid: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    body = canonical_json({"position": position, "chain_hash": chain_hash, "max_entry_seq": max_entry_seq,
                           "at": format_time(at), "kid": kid})
    return _CHECKPOINT_DOMAIN + body.encode("ascii")
