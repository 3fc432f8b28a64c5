"""Staff members' authenticators (TOTP), kept apart from applicants'.

The TOTP rules are the factor's own (:class:`idverify.factors.totp.TotpService`: one step of drift, no replay,
growing lockouts); only the storage and the lockout keys differ, so no applicant id can ever name a staff member's
authenticator or lock a staff member out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from idverify.factors.otp import CounterStore
from idverify.factors.otp_limits import LockoutPolicy, LockoutState
from idverify.factors.totp import TotpRecord
from idverify.privacy.cipher import FieldCipher, FieldContext
from idverify.storage.tables_console import staff_totp_credentials

_T = staff_totp_credentials.c


def _context(staff_id: str) -> FieldContext:
    return FieldContext("staff_totp_credentials", "sealed_secret", staff_id)


class SqlStaffTotpStore:
    """Satisfies ``totp.TotpStore`` for staff ids; secrets sealed with the field cipher, bound to the staff id."""

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine, self._cipher = engine, cipher

    def add(self, record: TotpRecord, now: datetime) -> bool:
        values = {"staff_id": record.applicant_id, "digits": record.digits, "period_s": record.period_s,
                  "algorithm": record.algorithm, "last_counter": None, "created_at": now,
                  "sealed_secret": self._cipher.encrypt(record.secret, _context(record.applicant_id))}
        try:
            with self._engine.begin() as conn:
                conn.execute(staff_totp_credentials.insert().values(values))
        except IntegrityError:
            return False
        return True

    def get(self, applicant_id: str) -> TotpRecord | None:
        with self._engine.begin() as conn:
            row = conn.execute(select(staff_totp_credentials).where(_T.staff_id == applicant_id)).mappings().first()
        if row is None:
            return None
        secret = self._cipher.decrypt(bytes(row["sealed_secret"]), _context(applicant_id))
        return TotpRecord(applicant_id=applicant_id, secret=secret, digits=int(row["digits"]),
                          period_s=int(row["period_s"]), algorithm=row["algorithm"],
                          last_counter=None if row["last_counter"] is None else int(row["last_counter"]))

    def advance(self, applicant_id: str, counter: int) -> bool:
        stmt = (update(staff_totp_credentials)
                .where(_T.staff_id == applicant_id, _T.last_counter.is_(None) | (_T.last_counter < counter))
                .values(last_counter=counter))
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def remove(self, applicant_id: str) -> bool:
        with self._engine.begin() as conn:
            return conn.execute(delete(staff_totp_credentials).where(_T.staff_id == applicant_id)).rowcount == 1


class StaffLockoutCounters:
    """The shared counter store with staff lockout keys (``staff:<id>``) instead of applicant ones."""

    def __init__(self, counters: CounterStore) -> None:
        self._counters = counters

    @staticmethod
    def _key(subject: str) -> str:
        return "staff:" + subject.split(":", 1)[-1]

    def hit(self, key: str, window_start: datetime, expires_at: datetime) -> int:
        return self._counters.hit(self._key(key), window_start, expires_at)

    def release(self, key: str, window_start: datetime) -> None:
        self._counters.release(self._key(key), window_start)

    def claim(self, key: str, now: datetime, until: datetime) -> datetime | None:
        return self._counters.claim(self._key(key), now, until)

    def release_claim(self, key: str, until: datetime, now: datetime) -> None:
        self._counters.release_claim(self._key(key), until, now)

    def reserve_guess(self, subject: str, now: datetime, policy: LockoutPolicy) -> tuple[bool, LockoutState]:
        return self._counters.reserve_guess(self._key(subject), now, policy)

    def clear_guesses(self, subject: str) -> None:
        self._counters.clear_guesses(self._key(subject))

    def lockout_state(self, subject: str) -> LockoutState:
        return self._counters.lockout_state(self._key(subject))
