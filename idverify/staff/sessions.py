"""Staff sessions: a staff member's own API key plus a code from their own authenticator opens a short-lived
session whose opaque credential the staff console holds instead of any key of its own.

Only the credential's SHA-256 is stored. A session is valid until it expires or is ended, and only while the API
key that opened it is still configured (the transport checks that on every call and takes the roles from it), so
withdrawing a staff member's key ends their sessions at once. Sign-ins, refusals and sign-outs are audited.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from idverify.audit import Actor, AuditEntry, AuditLog
from idverify.domain.errors import IdVerifyError, Unauthenticated
from idverify.domain.ports import Clock, Random
from idverify.factors.totp import TotpService
from idverify.storage.tables_console import staff_sessions

CREDENTIAL_PREFIX = "idvss_"
_S = staff_sessions.c


@dataclass(frozen=True, slots=True)
class StaffSession:
    credential: str
    staff_id: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"StaffSession(staff_id={self.staff_id!r}, expires_at={self.expires_at!r}, credential=<redacted>)"


@dataclass(frozen=True, slots=True)
class SessionHolder:
    """Who a valid credential belongs to, and the SHA-256 (hex) of the API key that opened the session."""

    staff_id: str
    api_key_sha256: str


def credential_digest(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


class StaffSessions:
    def __init__(self, *, engine: Engine, audit: AuditLog, clock: Clock, random: Random, totp: TotpService,
                 lifetime: timedelta = timedelta(minutes=15)) -> None:
        self._engine, self._audit, self._clock, self._random = engine, audit, clock, random
        self._totp, self._lifetime = totp, lifetime

    def enroll_totp(self, actor: Actor) -> str:
        """Enrol the staff member's own authenticator; its provisioning URI is returned this once.
        Raises ``AlreadyExists("totp_already_enrolled")``."""
        uri = self._totp.enroll(actor.caller_id, actor.caller_id).provisioning_uri
        self._record(actor, "staff.totp_enrolled", "ok", "")
        return uri

    def start(self, actor: Actor, *, api_key_sha256: str, code: str) -> StaffSession:
        """Check ``code`` against the staff member's authenticator and open a session. Every refusal is audited
        and re-raised (``otp_malformed``, ``totp_incorrect``, ``totp_replayed``, ``totp_not_enrolled``, locks)."""
        try:
            self._totp.verify(actor.caller_id, code)
        except IdVerifyError as err:
            self._record(actor, "staff.sign_in", "refused", err.code)
            raise
        now = self._clock.now()
        credential = CREDENTIAL_PREFIX + base64.urlsafe_b64encode(self._random.token_bytes(32)).decode().rstrip("=")
        session = StaffSession(credential=credential, staff_id=actor.caller_id, expires_at=now + self._lifetime)
        with self._engine.begin() as conn:
            conn.execute(staff_sessions.insert().values(
                credential_sha256=credential_digest(credential), staff_id=actor.caller_id,
                api_key_sha256=api_key_sha256, created_at=now, expires_at=session.expires_at, ended_at=None))
            self._audit.append(conn, AuditEntry(actor=actor, action="staff.sign_in", object_type="staff",
                                                object_id=actor.caller_id, outcome="ok"))
        return session

    def resolve(self, credential: str) -> SessionHolder:
        """The holder of a valid, unexpired, not ended credential. Raises ``Unauthenticated``."""
        if not credential.startswith(CREDENTIAL_PREFIX) or len(credential) > 128:
            raise Unauthenticated("staff_session_invalid", "the staff session is not valid")
        with self._engine.connect() as conn:
            row = conn.execute(select(_S.staff_id, _S.api_key_sha256, _S.expires_at, _S.ended_at)
                               .where(_S.credential_sha256 == credential_digest(credential))).first()
        if row is None or row.ended_at is not None:
            raise Unauthenticated("staff_session_invalid", "the staff session is not valid")
        if self._clock.now() >= row.expires_at:
            raise Unauthenticated("staff_session_expired", "the staff session has expired; sign in again")
        return SessionHolder(staff_id=row.staff_id, api_key_sha256=row.api_key_sha256)

    def end(self, actor: Actor, credential: str) -> None:
        """End the session (sign-out); a second call changes nothing."""
        with self._engine.begin() as conn:
            ended = conn.execute(update(staff_sessions)
                                 .where(_S.credential_sha256 == credential_digest(credential),
                                        _S.staff_id == actor.caller_id, _S.ended_at.is_(None))
                                 .values(ended_at=self._clock.now())).rowcount
            if ended:
                self._audit.append(conn, AuditEntry(actor=actor, action="staff.sign_out", object_type="staff",
                                                    object_id=actor.caller_id, outcome="ok"))

    def _record(self, actor: Actor, action: str, outcome: str, reason: str) -> None:
        with self._engine.begin() as conn:
            self._audit.append(conn, AuditEntry(actor=actor, action=action, object_type="staff",
                                                object_id=actor.caller_id, outcome=outcome, reason_code=reason))
