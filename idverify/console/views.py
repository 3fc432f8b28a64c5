"""What the templates show, computed from the service's answers: SLA timers and the case timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from idverify.api.v1 import case_pb2
from idverify.console.evidence import SignatureCheck, check_signature

_CLOSED = frozenset({"resolved_fraud_confirmed", "resolved_not_fraud", "withdrawn"})


def _when(ts: Any) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


def remaining(deadline: datetime, now: datetime) -> str:
    """A short span such as ``2d 3h``, ``4h 05m`` or ``12m`` (the sign is shown by the template's words)."""
    seconds = abs(int((deadline - now).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


@dataclass(frozen=True)
class CaseRow:
    case: case_pb2.Case
    opened_at: datetime | None
    respond_by: datetime | None
    closed: bool
    overdue: bool
    sla: str


def case_row(case: case_pb2.Case, now: datetime) -> CaseRow:
    respond_by = _when(case.respond_by)
    closed = case.state in _CLOSED
    overdue = bool(respond_by and not closed and now > respond_by)
    return CaseRow(case=case, opened_at=_when(case.opened_at), respond_by=respond_by, closed=closed,
                   overdue=overdue, sla=remaining(respond_by, now) if respond_by and not closed else "")


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    kind: str  # an i18n key
    detail: str


@dataclass(frozen=True)
class EvidenceView:
    check: SignatureCheck
    signed_bundle: str = ""  # checked again in the browser (WebCrypto Ed25519) against:
    jwks_json: str = ""
    verification: dict[str, Any] = field(default_factory=dict)
    timeline: list[TimelineEntry] = field(default_factory=list)


def timeline_of(signed_bundle: str, jwks_json: str) -> EvidenceView:
    """Check the bundle's signature, then lay out only what the *signed* payload says, in time order."""
    check = check_signature(signed_bundle, jwks_json)
    bundle = check.payload or {}
    verification = bundle.get("verification") or {}
    entries: list[TimelineEntry] = []
    if verification.get("created_at"):
        entries.append(TimelineEntry(verification["created_at"], "timeline.started",
                                     " + ".join(verification.get("required_factors") or [])))
    for result in verification.get("factor_results") or []:
        score = result.get("score")
        threshold = result.get("threshold")
        scored = f" score {score:.3f} / threshold {threshold:.3f}" if isinstance(score, float) and isinstance(
            threshold, float) and threshold > 0 else ""  # code factors have no score
        model = f" model {result['model_id']}" if result.get("model_id") else ""
        entries.append(TimelineEntry(result.get("at", ""), "timeline.factor",
                                     f"{result.get('factor')}: {result.get('outcome')} "
                                     f"{result.get('reason_code') or ''}{scored}{model}".strip()))
    if verification.get("completed_at"):
        entries.append(TimelineEntry(verification["completed_at"], "timeline.completed", verification.get(
            "status", "")))
    for token in verification.get("tokens") or []:
        entries.append(TimelineEntry(token.get("issued_at", ""), "timeline.token_issued", token.get("token_id", "")))
        if token.get("redeemed_at"):
            entries.append(TimelineEntry(token["redeemed_at"], "timeline.token_redeemed", token.get("token_id", "")))
        if token.get("revoked_at"):
            entries.append(TimelineEntry(token["revoked_at"], "timeline.token_revoked",
                                         f"{token.get('token_id', '')} ({token.get('revoke_reason') or ''})"))
    for entry in bundle.get("audit") or []:
        entries.append(TimelineEntry(entry.get("at", ""), "timeline.audit",
                                     f"#{entry.get('seq')} {entry.get('action')} {entry.get('object')} "
                                     f"{entry.get('outcome')} {entry.get('reason_code') or ''} by "
                                     f"{entry.get('actor')}".strip()))
    entries.sort(key=lambda e: e.at)
    return EvidenceView(check=check, signed_bundle=signed_bundle, jwks_json=jwks_json, verification=verification,
                        timeline=entries)
