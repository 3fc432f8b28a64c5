"""What ``idverify audit verify`` prints: one sentence that names the first row that is wrong."""

from __future__ import annotations

from idverify.audit.verify import ChainReport


def describe(report: ChainReport) -> str:
    """A line for people: the counts when the trail verifies, else where it breaks and how."""
    counts = (f"{report.entries_checked} entries ({report.unsealed} not yet sealed), "
              f"{report.checkpoints_checked} checkpoints")
    if report.ok:
        return f"audit trail verifies: {counts}"
    if report.first_bad_seq is not None:
        place = f"seq {report.first_bad_seq}"
        also = f" at chain position {report.position}" if report.position is not None else " (not yet sealed)"
    else:
        place = "the chain head" if report.position is None else f"chain position {report.position}"
        also = ""
    return f"audit trail broken at {place}: {report.problem}{also}. {report.detail} ({counts})"
