"""Deleting one applicant's data on request, leaving the audit chain intact.

Every feature lists where it keeps an applicant's rows (:class:`ErasureTarget`); :func:`erase_applicant` deletes
them in the caller's transaction. The audit chain is never touched: its entries name applicants by opaque id and
hold hashes, and removing them would break the chain. Pass an :class:`~idverify.audit.AuditLog` and the erasure
itself is recorded (counts per table, no identifiers beyond the applicant id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, MetaData, delete

from idverify.audit import Actor, AuditEntry, AuditLog
from idverify.domain.errors import InvalidArgument
from idverify.privacy.retention import PROTECTED_TABLES


@dataclass(frozen=True, slots=True)
class ErasureTarget:
    """Rows of ``table`` whose ``column`` holds the applicant id or one of the applicant's blind indexes."""

    table: str
    column: str
    match: Literal["applicant_id", "blind_index"]

    def __post_init__(self) -> None:
        if self.table in PROTECTED_TABLES:
            raise InvalidArgument("erasure_table_protected", f"{self.table} is append-only and never erased")


#: Where the risk feature keeps an applicant's own rows. Deliberately absent: identity freezes (erasing one
#: would lift a freeze without the unfreeze checks), staff relations (a conflict-of-interest control), dispute
#: cases (kept for the victim's credit-record correction), and risk rows of *other* applicants that share this
#: applicant's phone or ID number (evidence of misuse of their identity).
DEFAULT_TARGETS: tuple[ErasureTarget, ...] = (ErasureTarget("risk_observations", "applicant_key", "blind_index"),)


def erase_applicant(
    conn: Connection,
    metadata: MetaData,
    targets: Iterable[ErasureTarget],
    *,
    applicant_id: str,
    blind_indexes: Sequence[str] = (),
    audit: AuditLog | None = None,
    actor: Actor | None = None,
) -> Mapping[str, int]:
    """Delete the applicant's rows from every target; return rows deleted per table.

    Raises ``InvalidArgument("erasure_subject_missing")`` for an empty applicant id and
    ``InvalidArgument("retention_table_unknown")`` for a target not in ``metadata``.
    """
    if not applicant_id:
        raise InvalidArgument("erasure_subject_missing", "an applicant id is required")
    deleted: dict[str, int] = {}
    for target in targets:
        table = metadata.tables.get(target.table)
        if table is None or target.column not in table.c:
            raise InvalidArgument("retention_table_unknown", f"{target.table}.{target.column} is not in the schema")
        column = table.c[target.column]
        if target.match == "applicant_id":
            condition = column == applicant_id
        elif blind_indexes:
            condition = column.in_(list(blind_indexes))
        else:
            continue
        result = conn.execute(delete(table).where(condition))
        deleted[target.table] = deleted.get(target.table, 0) + max(result.rowcount, 0)
    if audit is not None:
        audit.append(
            conn,
            AuditEntry(
                actor=actor or Actor("system", "system"),
                action="applicant.erase",
                object_type="applicant",
                object_id=applicant_id,
                outcome="ok",
                details={"rows_deleted": dict(deleted)},
            ),
        )
    return deleted
