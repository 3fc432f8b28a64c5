"""The risk use case: record what was seen, count, score, decide, alert."""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import Connection

from idverify.domain.errors import IdVerifyError
from idverify.domain.ports import Clock
from idverify.risk.alerts import Alert, AlertSink
from idverify.risk.model import RiskDecision, RiskEvent
from idverify.risk.rules import RiskPolicy, RiskRules, assess
from idverify.risk.store import SqlSignalStore

_log = logging.getLogger("idverify.risk")


class FreezeLookup(Protocol):
    """Whether an applicant or identity is frozen (``idverify.cases.SqlFreezeRepository`` satisfies this)."""

    def is_frozen(self, conn: Connection, *, applicant_id: str, identity_key: str | None) -> bool: ...


class RiskEngine:
    """Evaluates risk at the start of a verification and at each factor result.

    ``evaluate`` runs in the caller's transaction: it records the observation, counts over the rules' windows
    (shared by every replica on the same database), applies the rules and the policy, and sends an alert for
    ``review`` and ``refuse``. An alert that cannot be delivered is logged and does not change the decision.
    """

    def __init__(
        self,
        *,
        store: SqlSignalStore,
        clock: Clock,
        rules: RiskRules | None = None,
        policy: RiskPolicy | None = None,
        sink: AlertSink | None = None,
        freezes: FreezeLookup | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rules = rules or RiskRules()
        self._policy = policy or RiskPolicy()
        self._sink = sink
        self._freezes = freezes

    def evaluate(self, conn: Connection, event: RiskEvent) -> RiskDecision:
        """Record ``event``, score it and decide. A frozen applicant or identity is always ``refuse``."""
        now = self._clock.now()
        observation_id = self._store.record(conn, event, now)
        frozen = self._freezes is not None and self._freezes.is_frozen(
            conn, applicant_id=event.subject.applicant_id, identity_key=event.subject.identity_key
        )
        signals = self._store.signals(
            conn, event, now=now, rules=self._rules, observation_id=observation_id, frozen=frozen
        )
        decision = assess(signals, self._rules, self._policy)
        if decision.outcome in ("review", "refuse") and self._sink is not None:
            self._alert(event, decision, now.isoformat())
        return decision

    def record_completed(self, conn: Connection, event: RiskEvent) -> None:
        """Record a completed verification (makes the account "known" for the new-device rule)."""
        if event.stage != "completed":
            raise ValueError("record_completed takes a 'completed' event")
        self._store.record(conn, event, self._clock.now())

    def _alert(self, event: RiskEvent, decision: RiskDecision, at: str) -> None:
        assert self._sink is not None
        alert = Alert(
            at=at,
            tenant=event.subject.tenant,
            session_id=event.session_id,
            stage=event.stage,
            outcome=decision.outcome,
            score=decision.score,
            reason_codes=decision.reason_codes,
        )
        try:
            self._sink.send(alert)
        except IdVerifyError as exc:
            _log.warning("risk_alert_not_delivered", extra={"reason_code": exc.code, "session_id": event.session_id})
