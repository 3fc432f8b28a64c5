"""Audit entries and their canonical, hash-chained encoding (standard library only).

An entry's hash is SHA-256 over a domain-separated, sorted-key JSON encoding of every recorded field plus the hash
of the entry before it, so editing, deleting or reordering any stored entry breaks the chain at that entry.
Checkpoints sign ``(seq, entry_hash, at, kid)`` so a chain rewritten from some point on is caught as well.

``details`` may hold ids, codes, scores and counts; it must never hold personal data. :func:`check_details`
refuses keys and values that look like personal data (a backstop, not a proof).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from idverify.domain.errors import InvalidArgument

GENESIS_HASH = "0" * 64
_ENTRY_DOMAIN = b"idverify.audit.entry.v1\n"
_CHECKPOINT_DOMAIN = b"idverify.audit.checkpoint.v1\n"

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
    """What happened, before it is sequenced and chained. ``purpose`` is required for staff reads of personal
    data; ``details`` holds ids, codes and scores only."""

    actor: Actor
    action: str
    object_type: str
    object_id: str
    outcome: str
    reason_code: str = ""
    purpose: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """An entry as stored: sequenced, timestamped and chained."""

    seq: int
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
    prev_hash: str
    entry_hash: str


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only, no NaN: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def format_time(at: datetime) -> str:
    """UTC with microseconds, the precision every backend stores."""
    if at.tzinfo is None:
        raise ValueError("naive datetime in an audit entry")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def hash_fields(
    *,
    seq: int,
    at: datetime,
    actor_id: str,
    actor_role: str,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    reason_code: str,
    purpose: str,
    details_json: str,
    prev_hash: str,
) -> str:
    """The entry hash: SHA-256 (hex) over the domain label and the canonical JSON of every field."""
    body = canonical_json(
        {
            "seq": seq,
            "at": format_time(at),
            "actor_id": actor_id,
            "actor_role": actor_role,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "outcome": outcome,
            "reason_code": reason_code,
            "purpose": purpose,
            "details": details_json,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(_ENTRY_DOMAIN + body.encode("ascii")).hexdigest()


def seal(entry: AuditEntry, *, seq: int, at: datetime, prev_hash: str) -> SealedEntry:
    """Sequence and chain ``entry`` after the entry whose hash is ``prev_hash``."""
    check_details(entry.details)
    details_json = canonical_json(dict(entry.details))
    at = datetime.fromisoformat(format_time(at))
    unsealed = SealedEntry(
        seq=seq,
        at=at,
        actor_id=entry.actor.caller_id,
        actor_role=entry.actor.role,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        outcome=entry.outcome,
        reason_code=entry.reason_code,
        purpose=entry.purpose,
        details_json=details_json,
        prev_hash=prev_hash,
        entry_hash="",
    )
    return replace(unsealed, entry_hash=rehash(unsealed))


def rehash(stored: SealedEntry) -> str:
    """Recompute a stored entry's hash from its fields (what verification compares with ``entry_hash``)."""
    return hash_fields(
        seq=stored.seq,
        at=stored.at,
        actor_id=stored.actor_id,
        actor_role=stored.actor_role,
        action=stored.action,
        object_type=stored.object_type,
        object_id=stored.object_id,
        outcome=stored.outcome,
        reason_code=stored.reason_code,
        purpose=stored.purpose,
        details_json=stored.details_json,
        prev_hash=stored.prev_hash,
    )


def checkpoint_message(*, seq: int, entry_hash: str, at: datetime, kid: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    body = canonical_json({"seq": seq, "entry_hash": entry_hash, "at": format_time(at), "kid": kid})
    return _CHECKPOINT_DOMAIN + body.encode("ascii")
