"""Canonical encoding and the personal-data guard of audit entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from idverify.audit.entry import (
    GENESIS_HASH,
    Actor,
    AuditEntry,
    canonical_json,
    check_details,
    rehash,
    seal,
)
from idverify.domain.errors import InvalidArgument

AT = datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=UTC)
ENTRY = AuditEntry(
    actor=Actor("lender-a", "lender_backend"),
    action="verification.start",
    object_type="session",
    object_id="ses_1",
    outcome="ok",
    details={"score": 40, "reasons": ["sim_swap"]},
)


def test_canonical_json_is_independent_of_key_order() -> None:
    assert canonical_json({"b": 1, "a": [2, {"d": 1, "c": 0}]}) == canonical_json({"a": [2, {"c": 0, "d": 1}], "b": 1})


def test_sealed_hash_matches_recomputation_and_links_to_previous() -> None:
    sealed = seal(ENTRY, seq=1, at=AT, prev_hash=GENESIS_HASH)
    assert rehash(sealed) == sealed.entry_hash
    second = seal(ENTRY, seq=2, at=AT, prev_hash=sealed.entry_hash)
    assert second.prev_hash == sealed.entry_hash
    assert second.entry_hash != sealed.entry_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [("outcome", "refused"), ("object_id", "ses_2"), ("seq", 2), ("details_json", "{}"), ("prev_hash", "1" * 64)],
)
def test_changing_any_field_changes_the_hash(field: str, value: Any) -> None:
    sealed = seal(ENTRY, seq=1, at=AT, prev_hash=GENESIS_HASH)
    assert rehash(replace(sealed, **{field: value})) != sealed.entry_hash


def test_same_instant_in_another_zone_hashes_the_same() -> None:
    shanghai = AT.astimezone(timezone(timedelta(hours=8)))
    assert seal(ENTRY, seq=1, at=shanghai, prev_hash=GENESIS_HASH).entry_hash == seal(
        ENTRY, seq=1, at=AT, prev_hash=GENESIS_HASH
    ).entry_hash


@pytest.mark.parametrize(
    "details",
    [
        {"phone": "x"},
        {"nested": {"id_number": "x"}},
        {"note": "+8613800138000"},
        {"ref": "11010519491231002X"},
        {"who": ["a@example.com"]},
        {"t": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJlX2hlcmU"},
    ],
)
def test_details_with_personal_data_are_refused(details: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_details(details)
    assert err.value.code == "audit_details_personal_data"
    assert "13800138000" not in str(err.value)
    assert "1949" not in str(err.value)


def test_details_with_ids_codes_and_scores_are_accepted() -> None:
    check_details({"session_id": "ses_1", "reason_codes": ["sim_swap"], "score": 0.93, "count": 3, "ok": True})


def test_non_json_details_are_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        check_details({"raw": b"bytes"})
    assert err.value.code == "audit_details_unsupported"
