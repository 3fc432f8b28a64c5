"""Retention: which rows are past their keeping period, and deleting them.

:func:`cutoffs` is pure (policies and ``now`` in, one cutoff per table out). :func:`purge_expired` runs the
deletes in the caller's transaction. The audit tables can never be purged this way: deleting from the chain is
exactly what verification reports as tampering; the chain holds ids, codes and hashes only, not personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, MetaData, delete

from idverify.domain.errors import InvalidArgument

#: Tables no retention or erasure helper may delete from.
PROTECTED_TABLES = frozenset({"audit_entries", "audit_chain", "audit_chain_head", "audit_checkpoints"})


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Rows of ``table`` whose ``column`` (a UtcDateTime) is older than ``period`` are deleted."""

    table: str
    column: str
    period: timedelta

    def __post_init__(self) -> None:
        if self.table in PROTECTED_TABLES:
            raise InvalidArgument("retention_table_protected", f"{self.table} is append-only and never purged")
        if self.period <= timedelta(0):
            raise InvalidArgument("retention_period_invalid", f"retention of {self.table} must be positive")


#: Defaults for the tables of the risk and cases features; other features add their own (see
#: docs/data-inventory.md). Cases and freezes are kept while they matter to a victim's credit record.
DEFAULT_POLICIES: tuple[RetentionPolicy, ...] = (
    RetentionPolicy("risk_observations", "at", timedelta(days=90)),
    RetentionPolicy("dispute_cases", "closed_at", timedelta(days=5 * 365)),
    RetentionPolicy("approval_requests", "requested_at", timedelta(days=5 * 365)),
)


def cutoffs(policies: Iterable[RetentionPolicy], now: datetime) -> dict[tuple[str, str], datetime]:
    """The instant before which rows are past retention, per (table, column). Duplicate entries keep the
    longest period (the safe choice when two features list the same table)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    result: dict[tuple[str, str], datetime] = {}
    for policy in policies:
        key = (policy.table, policy.column)
        cutoff = now - policy.period
        result[key] = min(cutoff, result.get(key, cutoff))
    return result


def purge_expired(
    conn: Connection, metadata: MetaData, policies: Iterable[RetentionPolicy], now: datetime
) -> Mapping[str, int]:
    """Delete every row past retention, in ``conn``'s transaction. Returns rows deleted per table.

    Rows whose timestamp column is NULL (e.g. a case not yet closed) are kept. Raises
    ``InvalidArgument("retention_table_unknown")`` for a table or column not in ``metadata``.
    """
    deleted: dict[str, int] = {}
    for (table_name, column_name), cutoff in cutoffs(policies, now).items():
        table = metadata.tables.get(table_name)
        if table is None or column_name not in table.c:
            raise InvalidArgument("retention_table_unknown", f"{table_name}.{column_name} is not in the schema")
        result = conn.execute(delete(table).where(table.c[column_name] < cutoff))
        deleted[table_name] = deleted.get(table_name, 0) + max(result.rowcount, 0)
    return deleted
