"""The SQL signal store: observations keyed by blind indexes, and counts over time windows.

Every replica writes to and counts from the same tables, so counts are shared across replicas. Counting runs in
the caller's transaction. Counts are best-effort under concurrency (two replicas evaluating at the same instant
may each miss the other's row); that is acceptable for scoring, and the freeze check, which must be exact,
does not depend on counts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, exists, func, insert, select

from idverify.risk.model import RiskEvent, Signals
from idverify.risk.rules import RiskRules
from idverify.storage.tables_risk import risk_observations as obs


class SqlSignalStore:
    """Records observations and counts them. Stateless: safe to share between threads."""

    def record(self, conn: Connection, event: RiskEvent, at: datetime) -> int:
        """Store one observation of ``event``; return its id."""
        if event.stage == "factor":
            kind = "factor_passed" if event.factor_passed else "factor_failed"
        elif event.stage == "completed":
            kind = "verified"
        else:
            kind = "start"
        s = event.subject
        result = conn.execute(
            insert(obs).values(
                at=at,
                tenant=s.tenant,
                event=kind,
                factor=event.factor,
                session_id=event.session_id,
                applicant_key=s.applicant_key,
                identity_key=s.identity_key,
                phone_key=s.phone_key,
                device_key=s.device_key,
                ip_key=s.ip_key,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def signals(
        self,
        conn: Connection,
        event: RiskEvent,
        *,
        now: datetime,
        rules: RiskRules,
        observation_id: int,
        frozen: bool,
    ) -> Signals:
        """Counts for ``event``'s subject over each rule's window, ending at ``now``."""
        s = event.subject
        spread, shared = rules.identity_spread, rules.shared_device
        return Signals(
            at=now,
            phones_per_identity=self._distinct(conn, obs.c.phone_key, s.identity_key, now - spread.window),
            devices_per_identity=self._distinct(conn, obs.c.device_key, s.identity_key, now - spread.window),
            identities_per_device=self._identities(conn, obs.c.device_key, s.device_key, now - shared.device_window),
            identities_per_ip=self._identities(conn, obs.c.ip_key, s.ip_key, now - shared.ip_window),
            failed_factors=self._count(
                conn,
                and_(obs.c.applicant_key == s.applicant_key, obs.c.event == "factor_failed"),
                now - rules.failed_factors.window,
            ),
            known_account=self._exists(conn, and_(obs.c.applicant_key == s.applicant_key, obs.c.event == "verified")),
            device_seen_for_account=s.device_key is None
            or self._exists(
                conn,
                and_(
                    obs.c.applicant_key == s.applicant_key,
                    obs.c.device_key == s.device_key,
                    obs.c.id < observation_id,
                ),
            ),
            phone_recently_changed=event.phone_recently_changed,
            tenant_starts_in_burst_window=self._count(
                conn, and_(obs.c.tenant == s.tenant, obs.c.event == "start"), now - rules.night_burst.window
            ),
            frozen=frozen,
        )

    @staticmethod
    def _distinct(conn: Connection, counted: ColumnElement[str], identity_key: str | None, since: datetime) -> int:
        """Distinct phones or devices seen with one ID number."""
        if identity_key is None:
            return 0
        query = select(func.count(func.distinct(counted))).where(
            obs.c.identity_key == identity_key, counted.is_not(None), obs.c.at >= since
        )
        return int(conn.execute(query).scalar_one())

    @staticmethod
    def _identities(conn: Connection, keyed: ColumnElement[str], key: str | None, since: datetime) -> int:
        """Distinct identities behind one device or IP: the larger of distinct ID-number indexes and distinct
        lender accounts (the ID number is unknown until a document is read, so both are counted)."""
        if key is None:
            return 0
        query = select(
            func.count(func.distinct(obs.c.identity_key)), func.count(func.distinct(obs.c.applicant_key))
        ).where(keyed == key, obs.c.at >= since)
        identities, accounts = conn.execute(query).one()
        return max(int(identities), int(accounts))

    @staticmethod
    def _count(conn: Connection, condition: ColumnElement[bool], since: datetime) -> int:
        query = select(func.count()).select_from(obs).where(condition, obs.c.at >= since)
        return int(conn.execute(query).scalar_one())

    @staticmethod
    def _exists(conn: Connection, condition: ColumnElement[bool]) -> bool:
        return bool(conn.execute(select(exists().where(condition))).scalar_one())
