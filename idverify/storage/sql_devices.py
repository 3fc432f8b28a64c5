"""``DeviceRepository`` on SQLAlchemy Core: device keys, device-proof nonces and proofs, SIM-swap evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from idverify.domain.errors import AlreadyExists, NotFound
from idverify.domain.ports import FieldProtector
from idverify.domain.repositories import DeviceKeyRecord
from idverify.storage.tables_devices import device_keys, device_proofs, phone_changes

K, P, PC = device_keys, device_proofs, phone_changes


def _record(row: object) -> DeviceKeyRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return DeviceKeyRecord(key_id=m["key_id"], applicant_id=m["applicant_id"], algorithm=m["algorithm"],
                           jwk=m["jwk"], label=m["label"], device_index=m["device_index"],
                           device_hint=m["device_hint"], registered_at=m["registered_at"],
                           registered_by_session=m["registered_by_session"], revoked_at=m["revoked_at"])


class SqlDeviceRepository:
    def __init__(self, conn: Connection, protector: FieldProtector) -> None:
        self._conn = conn
        self._protector = protector

    def add_key(self, record: DeviceKeyRecord, phone_e164: str) -> None:
        if self._conn.execute(select(K.c.applicant_id).where(K.c.key_id == record.key_id)).first() is not None:
            raise AlreadyExists("device_key_exists", "this device key is already registered")
        if self._conn.execute(select(K.c.key_id).where(
                K.c.registered_by_session == record.registered_by_session)).first() is not None:
            raise AlreadyExists("session_already_registered_device",
                                "this verification already registered a device; verify again for another")
        sealed = self._protector.seal(phone_e164, f"device_keys.phone.{record.key_id}") if phone_e164 else None
        try:
            with self._conn.begin_nested():
                self._conn.execute(K.insert().values(
                    key_id=record.key_id, applicant_id=record.applicant_id, algorithm=record.algorithm,
                    jwk=record.jwk, label=record.label, device_index=record.device_index,
                    device_hint=record.device_hint, phone_sealed=sealed, registered_at=record.registered_at,
                    registered_by_session=record.registered_by_session, revoked_at=None))
        except IntegrityError:  # a concurrent registration of the same key or by the same verification
            raise AlreadyExists("device_key_exists", "this device key is already registered") from None

    def keys(self, applicant_id: str) -> list[DeviceKeyRecord]:
        rows = self._conn.execute(select(K).where(K.c.applicant_id == applicant_id)
                                  .order_by(K.c.registered_at.desc(), K.c.key_id)).all()
        return [_record(r) for r in rows]

    def revoke_key(self, applicant_id: str, key_id: str, now: datetime) -> DeviceKeyRecord:
        row = self._conn.execute(select(K).where(K.c.key_id == key_id, K.c.applicant_id == applicant_id)).first()
        if row is None:
            raise NotFound("device_key_unknown", "no such device key for this person")
        record = _record(row)
        if record.revoked_at is not None:
            return record
        self._conn.execute(K.update().where(K.c.key_id == key_id).values(revoked_at=now))
        return replace(record, revoked_at=now)

    def notify_phone(self, applicant_id: str) -> str:
        row = self._conn.execute(
            select(K.c.key_id, K.c.phone_sealed).where(K.c.applicant_id == applicant_id, K.c.revoked_at.is_(None),
                                                        K.c.phone_sealed.is_not(None))
            .order_by(K.c.registered_at.desc()).limit(1)).first()
        if row is None:
            return ""
        return self._protector.unseal(row[1], f"device_keys.phone.{row[0]}")

    def nonce(self, session_id: str, make: str | None) -> str:
        row = self._conn.execute(select(P.c.nonce).where(P.c.session_id == session_id)).first()
        if row is not None:
            return str(row[0])
        if make is None:
            return ""
        self._conn.execute(P.insert().values(session_id=session_id, nonce=make))
        return make

    def add_proof(self, session_id: str, key_id: str, at: datetime) -> None:
        done = self._conn.execute(P.update().where(P.c.session_id == session_id, P.c.key_id.is_(None))
                                  .values(key_id=key_id, proved_at=at))
        if done.rowcount != 1:
            raise AlreadyExists("device_proof_replayed", "this verification already took its device proof")

    def proof(self, session_id: str) -> str:
        row = self._conn.execute(select(P.c.key_id).where(P.c.session_id == session_id)).first()
        return str(row[0]) if row is not None and row[0] else ""

    def add_phone_change(self, session_id: str, source: str, changed_at: datetime | None) -> None:
        if self._conn.execute(select(PC.c.session_id).where(PC.c.session_id == session_id)).first() is None:
            self._conn.execute(PC.insert().values(session_id=session_id, source=source, changed_at=changed_at))

    def phone_change(self, session_id: str) -> str:
        row = self._conn.execute(select(PC.c.source).where(PC.c.session_id == session_id)).first()
        return str(row[0]) if row is not None else ""

