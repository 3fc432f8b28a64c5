"""Retention cutoffs (pure) and the tables retention may never touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idverify.domain.errors import InvalidArgument
from idverify.privacy.erasure import ErasureTarget
from idverify.privacy.retention import RetentionPolicy, cutoffs

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_cutoff_is_now_minus_period() -> None:
    assert cutoffs([RetentionPolicy("risk_observations", "at", timedelta(days=90))], NOW) == {
        ("risk_observations", "at"): NOW - timedelta(days=90)
    }


def test_duplicate_policies_keep_the_longest_period() -> None:
    result = cutoffs(
        [RetentionPolicy("t", "at", timedelta(days=30)), RetentionPolicy("t", "at", timedelta(days=365))], NOW
    )
    assert result[("t", "at")] == NOW - timedelta(days=365)


@pytest.mark.parametrize("table", ["audit_entries", "audit_chain", "audit_chain_head", "audit_checkpoints"])
def test_audit_tables_cannot_be_purged_or_erased(table: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        RetentionPolicy(table, "at", timedelta(days=1))
    assert err.value.code == "retention_table_protected"
    with pytest.raises(InvalidArgument) as err:
        ErasureTarget(table, "object_id", "applicant_id")
    assert err.value.code == "erasure_table_protected"


def test_non_positive_period_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        RetentionPolicy("t", "at", timedelta(0))
