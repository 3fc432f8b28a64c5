"""SQL stores of the one-time-code factors (SQLAlchemy Core, SQLite and PostgreSQL).

Every state change is one conditional statement whose RETURNING says whether it happened, so two replicas racing on
the same code cannot both burn the last attempt or both consume it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, and_, delete, func, select, update

from idverify.domain.errors import FailedPrecondition
from idverify.domain.ports import FieldProtector
from idverify.factors.otp import Challenge, ChallengeStatus
from idverify.factors.totp import TotpRecord
from idverify.storage.counters import dialect_insert, in_transaction
from idverify.storage.tables_otp import otp_challenges, totp_credentials

_C = otp_challenges.c
_VISIBLE = (ChallengeStatus.PENDING, ChallengeStatus.USED, ChallengeStatus.SUPERSEDED)


class SqlOtpStore:
    """Codes of verification sessions (satisfies ``otp.OtpStore``); on a connection, calls join its transaction."""

    def __init__(self, engine: Engine | Connection) -> None:
        self._engine = engine

    def create(self, challenge: Challenge) -> None:
        with in_transaction(self._engine) as conn:
            conn.execute(
                otp_challenges.insert().values(
                    challenge_id=challenge.challenge_id,
                    session_id=challenge.session_id,
                    applicant_id=challenge.applicant_id,
                    channel="sms",
                    context_digest=challenge.context_digest,
                    code_digest=challenge.code_digest,
                    phone_hash=challenge.phone_hash,
                    phone_masked=challenge.phone_masked,
                    status=challenge.status.value,
                    attempts=challenge.attempts,
                    max_attempts=challenge.max_attempts,
                    created_at=challenge.created_at,
                    expires_at=challenge.expires_at,
                )
            )

    def activate(self, challenge_id: str, session_id: str, provider_message_id: str) -> None:
        next_seq = (
            select(func.coalesce(func.max(_C.sent_seq), 0) + 1)
            .where(_C.session_id == session_id)
            .scalar_subquery()
        )
        with in_transaction(self._engine) as conn:
            conn.execute(
                update(otp_challenges)
                .where(
                    _C.session_id == session_id,
                    _C.status == ChallengeStatus.PENDING.value,
                    _C.challenge_id != challenge_id,
                )
                .values(status=ChallengeStatus.SUPERSEDED.value)
            )
            conn.execute(
                update(otp_challenges)
                .where(_C.challenge_id == challenge_id, _C.status == ChallengeStatus.SENDING.value)
                .values(
                    status=ChallengeStatus.PENDING.value,
                    provider_message_id=provider_message_id[:64],
                    sent_seq=next_seq,
                )
            )

    def mark_failed(self, challenge_id: str) -> None:
        with in_transaction(self._engine) as conn:
            conn.execute(
                update(otp_challenges)
                .where(_C.challenge_id == challenge_id, _C.status == ChallengeStatus.SENDING.value)
                .values(status=ChallengeStatus.FAILED.value)
            )

    def latest(self, session_id: str) -> Challenge | None:
        stmt = (
            select(otp_challenges)
            .where(_C.session_id == session_id, _C.status.in_([s.value for s in _VISIBLE]))
            .order_by(_C.sent_seq.desc(), _C.created_at.desc(), _C.challenge_id.desc())
            .limit(1)
        )
        with in_transaction(self._engine) as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _challenge(row._mapping)

    def burn_attempt(self, challenge_id: str, now: datetime) -> int | None:
        stmt = (
            update(otp_challenges)
            .where(
                and_(
                    _C.challenge_id == challenge_id,
                    _C.status == ChallengeStatus.PENDING.value,
                    _C.attempts < _C.max_attempts,
                    _C.expires_at > now,
                )
            )
            .values(attempts=_C.attempts + 1)
            .returning(_C.attempts)
        )
        with in_transaction(self._engine) as conn:
            used = conn.execute(stmt).scalar()
        return None if used is None else int(used)

    def consume(self, challenge_id: str, now: datetime) -> bool:
        stmt = (
            update(otp_challenges)
            .where(_C.challenge_id == challenge_id, _C.status == ChallengeStatus.PENDING.value)
            .values(status=ChallengeStatus.USED.value, used_at=now)
            .returning(_C.challenge_id)
        )
        with in_transaction(self._engine) as conn:
            return conn.execute(stmt).first() is not None

    def purge(self, before: datetime) -> int:
        """Delete codes that expired before ``before`` (retention); returns how many."""
        with in_transaction(self._engine) as conn:
            rows = conn.execute(
                delete(otp_challenges).where(_C.expires_at < before).returning(_C.challenge_id)
            ).all()
        return len(rows)


def _challenge(row: Any) -> Challenge:
    return Challenge(
        challenge_id=row["challenge_id"],
        session_id=row["session_id"],
        applicant_id=row["applicant_id"],
        context_digest=bytes(row["context_digest"]),
        code_digest=bytes(row["code_digest"]),
        phone_hash=bytes(row["phone_hash"]),
        phone_masked=row["phone_masked"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        status=ChallengeStatus(row["status"]),
    )


_T = totp_credentials.c
#: The sealing used before TOTP secrets went through the field cipher: ``0x01 | nonce | AES-256-GCM`` under the
#: first data key with no key id. Read (with every configured data key) and resealed on next use, never written.
_LEGACY_VERSION = b"\x01"
_LEGACY_NONCE = 12


def _legacy_aad(applicant_id: str) -> bytes:
    return b"idverify/totp-secret/v1|" + applicant_id.encode("utf-8")


def _field(applicant_id: str) -> str:
    """Where a secret lives (``FieldProtector`` associated data): a secret copied to another row does not open."""
    return f"totp_credentials.sealed_secret.{applicant_id}"


class SqlTotpStore:
    """TOTP authenticators (satisfies ``totp.TotpStore``).

    Secrets are sealed by ``protector`` (the field cipher: AES-256-GCM with the key id in the ciphertext, so the data
    keys rotate and old secrets still open), bound to their applicant's row. Secrets sealed the old way (no key id)
    open with any of ``legacy_keys`` and are resealed the first time they are read. A secret that opens with no key
    is a permanent fault: ``FailedPrecondition("totp_unreadable")`` (enrol again), never a retryable status.
    """

    def __init__(self, engine: Engine | Connection, protector: FieldProtector,
                 legacy_keys: Sequence[bytes] = ()) -> None:
        if any(len(k) != 32 for k in legacy_keys):
            raise ValueError("legacy TOTP keys are 32-byte data keys (AES-256)")
        self._engine = engine
        self._protector = protector
        self._legacy_keys = tuple(legacy_keys)  # ciphers made only when an old-style secret is read (rare)

    def _seal(self, applicant_id: str, secret: bytes) -> bytes:
        return self._protector.seal(base64.b64encode(secret).decode("ascii"), _field(applicant_id))

    def _open(self, applicant_id: str, sealed: bytes) -> tuple[bytes, bool]:
        """The secret, and whether it was sealed the old way (so it should be resealed)."""
        try:
            return base64.b64decode(self._protector.unseal(sealed, _field(applicant_id)), validate=True), False
        except (FailedPrecondition, ValueError):
            pass
        if sealed[:1] == _LEGACY_VERSION:
            nonce, body = sealed[1 : 1 + _LEGACY_NONCE], sealed[1 + _LEGACY_NONCE :]
            for aead in (AESGCM(k) for k in self._legacy_keys):
                try:
                    return aead.decrypt(nonce, body, _legacy_aad(applicant_id)), True
                except InvalidTag:
                    continue
        raise FailedPrecondition("totp_unreadable", "the stored authenticator cannot be read; enrol it again",
                                 internal_reason="no configured data key opens it: a retired key or an altered row")

    def add(self, record: TotpRecord, now: datetime) -> bool:
        stmt = (
            dialect_insert(self._engine, totp_credentials)
            .values(
                applicant_id=record.applicant_id,
                sealed_secret=self._seal(record.applicant_id, record.secret),
                digits=record.digits,
                period_s=record.period_s,
                algorithm=record.algorithm,
                last_counter=None,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[_T.applicant_id])
            .returning(_T.applicant_id)
        )
        with in_transaction(self._engine) as conn:
            return conn.execute(stmt).first() is not None

    def get(self, applicant_id: str) -> TotpRecord | None:
        stmt = select(totp_credentials).where(_T.applicant_id == applicant_id)
        with in_transaction(self._engine) as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        m = row._mapping
        secret, legacy = self._open(m["applicant_id"], bytes(m["sealed_secret"]))
        if legacy:
            self._reseal(m["applicant_id"], bytes(m["sealed_secret"]), secret)
        return TotpRecord(
            applicant_id=m["applicant_id"],
            secret=secret,
            digits=int(m["digits"]),
            period_s=int(m["period_s"]),
            algorithm=m["algorithm"],
            last_counter=None if m["last_counter"] is None else int(m["last_counter"]),
        )

    def _reseal(self, applicant_id: str, old: bytes, secret: bytes) -> None:
        """Replace an old-style sealed secret with the field cipher's (only if nobody changed it meanwhile)."""
        stmt = (update(totp_credentials).where(_T.applicant_id == applicant_id, _T.sealed_secret == old)
                .values(sealed_secret=self._seal(applicant_id, secret)))
        with in_transaction(self._engine) as conn:
            conn.execute(stmt)

    def reseal_legacy(self) -> int:
        """Reseal every old-style secret now (an operator's alternative to waiting for each one's next use);
        returns how many were resealed."""
        done = 0
        with in_transaction(self._engine) as conn:
            rows = conn.execute(select(_T.applicant_id, _T.sealed_secret)).all()
        for applicant_id, sealed in rows:
            secret, legacy = self._open(applicant_id, bytes(sealed))
            if legacy:
                self._reseal(applicant_id, bytes(sealed), secret)
                done += 1
        return done

    def advance(self, applicant_id: str, counter: int) -> bool:
        stmt = (
            update(totp_credentials)
            .where(
                _T.applicant_id == applicant_id,
                (_T.last_counter.is_(None)) | (_T.last_counter < counter),
            )
            .values(last_counter=counter)
            .returning(_T.applicant_id)
        )
        with in_transaction(self._engine) as conn:
            return conn.execute(stmt).first() is not None

    def remove(self, applicant_id: str) -> bool:
        with in_transaction(self._engine) as conn:
            rows = conn.execute(
                delete(totp_credentials).where(_T.applicant_id == applicant_id).returning(_T.applicant_id)
            ).all()
        return bool(rows)
