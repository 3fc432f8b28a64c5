"""``LivenessCaptures`` on SQLAlchemy Core: what a challenge declared beyond its poses, read back at submission."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from idverify.storage.tables_liveness import liveness_captures
from idverify.usecases.face import CaptureRecord

L = liveness_captures


class SqlLivenessCaptures:
    """Satisfies ``idverify.usecases.face.LivenessCaptures``. One short transaction per call (the challenge row
    itself is written in the use case's unit of work; this row is written first, so a challenge never lacks it)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, record: CaptureRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(L).values(
                challenge_id=record.challenge_id, session_id=record.session_id,
                light=json.dumps([list(step) for step in record.light]), mirrored=record.mirrored,
                capture_key=record.capture_key, attestation=record.attestation, expires_at=record.expires_at))

    def get(self, challenge_id: str) -> CaptureRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(L).where(L.c.challenge_id == challenge_id)).mappings().first()
        if row is None:
            return None
        return CaptureRecord(
            challenge_id=row["challenge_id"], session_id=row["session_id"],
            light=tuple((int(rgb), int(ms)) for rgb, ms in json.loads(row["light"])), mirrored=bool(row["mirrored"]),
            capture_key=row["capture_key"], attestation=row["attestation"], expires_at=row["expires_at"])

    def purge(self, now: datetime) -> int:
        with self._engine.begin() as conn:
            return int(conn.execute(delete(L).where(L.c.expires_at < now)).rowcount or 0)
