"""``LivenessCaptures`` on SQLAlchemy Core: what a challenge declared beyond its poses, read back at submission.

Written and read on the caller's unit of work's connection (``SqlUnitOfWork.connection``), so the challenge, its
capture record and the verdict share the RPC's one transaction; without one (tools, tests) each call runs in a
short transaction of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select

from idverify.storage.tables_liveness import liveness_captures
from idverify.usecases.face import CaptureRecord

L = liveness_captures


class SqlLivenessCaptures:
    """Satisfies ``idverify.usecases.face.LivenessCaptures``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _connection(self, uow: object | None) -> Iterator[Connection]:
        shared = getattr(uow, "connection", None)
        if isinstance(shared, Connection):
            yield shared
            return
        with self._engine.begin() as conn:
            yield conn

    def put(self, record: CaptureRecord, uow: object | None = None) -> None:
        with self._connection(uow) as conn:
            conn.execute(insert(L).values(
                challenge_id=record.challenge_id, session_id=record.session_id,
                light=json.dumps([list(step) for step in record.light]), mirrored=record.mirrored,
                capture_key=record.capture_key, attestation=record.attestation, expires_at=record.expires_at))

    def get(self, challenge_id: str, uow: object | None = None) -> CaptureRecord | None:
        with self._connection(uow) as conn:
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
