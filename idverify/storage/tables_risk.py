"""Risk signal observations: one row per verification start or factor result, blind-indexed keys only.

Every identifier column holds a 64-hex-character keyed blind index (``idverify.privacy.BlindIndex``), never a
phone number, ID number, device id or IP address. Rows are purged after the retention period (90 days default).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from idverify.storage.schema import UtcDateTime, metadata

_KEY = String(64)

risk_observations = Table(
    "risk_observations",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("tenant", String(64), nullable=False),
    # "start", "factor_failed", "factor_passed", "verified"
    Column("event", String(32), nullable=False),
    Column("factor", String(32), nullable=True),
    Column("session_id", String(64), nullable=True),
    Column("applicant_key", _KEY, nullable=False),
    Column("identity_key", _KEY, nullable=True),
    Column("phone_key", _KEY, nullable=True),
    Column("device_key", _KEY, nullable=True),
    Column("ip_key", _KEY, nullable=True),
)

Index("ix_risk_observations_identity_at", risk_observations.c.identity_key, risk_observations.c.at)
Index("ix_risk_observations_device_at", risk_observations.c.device_key, risk_observations.c.at)
Index("ix_risk_observations_ip_at", risk_observations.c.ip_key, risk_observations.c.at)
Index("ix_risk_observations_applicant_at", risk_observations.c.applicant_key, risk_observations.c.at)
Index(
    "ix_risk_observations_tenant_event_at",
    risk_observations.c.tenant,
    risk_observations.c.event,
    risk_observations.c.at,
)
