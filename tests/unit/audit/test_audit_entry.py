"""Canonical encoding, the keyed MAC and chain link, and the personal-data guard of audit entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from idverify.audit.entry import (
    GENESIS_HASH,
    Actor,
    AuditEntry,
    AuditKey,
    Checkpoint,
    canonical_json,
    chain_link,
    check_details,
    entry_mac,
    prepare,
)
from idverify.domain.errors import InvalidArgument

KEY = AuditKey(bytes(range(32)))
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


def test_stored_mac_matches_recomputation_and_needs_the_key() -> None:
    stored = prepare(ENTRY, entry_id="e1", at=AT, key=KEY)
    assert entry_mac(KEY, stored) == stored.entry_hash
    assert entry_mac(AuditKey(bytes(32)), stored) != stored.entry_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [("outcome", "refused"), ("object_id", "ses_2"), ("entry_id", "e2"), ("details_json", "{}"),
     ("actor_id", "lender-b"), ("at", AT + timedelta(microseconds=1))],
)
def test_changing_any_field_changes_the_mac(field: str, value: Any) -> None:
    stored = prepare(ENTRY, entry_id="e1", at=AT, key=KEY)
    assert entry_mac(KEY, replace(stored, **{field: value})) != stored.entry_hash


def test_same_instant_in_another_zone_makes_the_same_mac() -> None:
    shanghai = AT.astimezone(timezone(timedelta(hours=8)))
    assert prepare(ENTRY, entry_id="e1", at=shanghai, key=KEY).entry_hash == prepare(
        ENTRY, entry_id="e1", at=AT, key=KEY).entry_hash


@pytest.mark.parametrize(("position", "seq", "mac", "prev"), [(2, 1, "m", GENESIS_HASH), (1, 2, "m", GENESIS_HASH),
                                                              (1, 1, "n", GENESIS_HASH), (1, 1, "m", "1" * 64)])
def test_chain_link_binds_position_entry_mac_and_predecessor(position: int, seq: int, mac: str, prev: str) -> None:
    base = chain_link(KEY, position=1, entry_seq=1, entry_mac="m", prev_hash=GENESIS_HASH)
    assert chain_link(KEY, position=position, entry_seq=seq, entry_mac=mac, prev_hash=prev) != base


def test_checkpoint_survives_its_exported_form() -> None:
    cp = Checkpoint(position=3, chain_hash="ab" * 32, max_entry_seq=9, at=AT, kid="k1", signature=bytes(range(64)))
    assert Checkpoint.from_json(cp.to_json()) == cp
    with pytest.raises(ValueError, match="not an audit checkpoint"):
        Checkpoint.from_json({"position": 3})


def test_audit_key_is_never_shown() -> None:
    assert "0001" not in repr(KEY)
    with pytest.raises(ValueError, match="32 bytes"):
        AuditKey(b"short")


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


@pytest.mark.parametrize("key", [bytes(range(32)), bytes(range(100))], ids=["32-byte key", "key longer than a block"])
def test_the_mac_is_hmac_sha256_of_domain_and_body_on_every_call_and_thread(key: bytes) -> None:
    """``AuditKey`` keys its HMAC once and copies it per MAC; each MAC must still be the plain HMAC-SHA256 of the
    domain and body (entries written before the change verify), and calls, in turn or on threads at once, must not
    leak into each other."""
    import hashlib
    import hmac
    from concurrent.futures import ThreadPoolExecutor

    audit_key = AuditKey(key)
    cases = [(b"idverify.audit.entry.v2\n", f"body-{i}".encode() * (i + 1)) for i in range(40)]
    expected = [hmac.new(key, domain + body, hashlib.sha256).hexdigest() for domain, body in cases]
    assert [audit_key.mac(d, b) for d, b in cases] == expected
    assert [audit_key.mac(d, b) for d, b in cases] == expected  # the keyed state is not consumed
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda case: audit_key.mac(*case), cases * 25)) == expected * 25


@pytest.mark.parametrize("at", [AT, AT.replace(microsecond=0), AT.astimezone(timezone(timedelta(hours=8))),
                                datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))])
def test_normalised_time_is_the_utc_instant_the_stored_text_reads_back_as(at: datetime) -> None:
    from idverify.audit.entry import format_time, normalise_time

    normal = normalise_time(at)
    assert normal == datetime.fromisoformat(format_time(at)) == at
    assert normal.utcoffset() == timedelta(0) and format_time(normal) == format_time(at)


def test_a_naive_time_is_refused_by_normalisation() -> None:
    from idverify.audit.entry import normalise_time

    with pytest.raises(ValueError, match="naive"):
        normalise_time(datetime(2026, 1, 1))
