"""Console sessions, server side: the cookie holds only an opaque random id; the staff member's short-lived
service credential, their CSRF token and pending messages stay here, in memory, and go when the credential
expires, the staff member signs out, or the console restarts (staff then sign in again)."""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class ConsoleSession:
    staff_id: str
    roles: frozenset[str]
    credential: str
    expires_at: datetime
    last_seen: datetime
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)

    def __repr__(self) -> str:
        return f"ConsoleSession(staff_id={self.staff_id!r}, expires_at={self.expires_at!r}, credential=<redacted>)"

    def csrf_ok(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf.encode(), presented.encode())


class SessionStore:
    """Thread-safe; a session ends at its credential's expiry or after ``idle`` without a request."""

    def __init__(self, idle: timedelta = timedelta(minutes=10)) -> None:
        self._sessions: dict[str, ConsoleSession] = {}
        self._lock = threading.Lock()
        self._idle = idle

    def create(self, session: ConsoleSession) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = session
        return sid

    def get(self, sid: str | None, now: datetime) -> ConsoleSession | None:
        if not sid:
            return None
        with self._lock:
            self._purge(now)
            session = self._sessions.get(sid)
            if session is not None:
                session.last_seen = now
            return session

    def drop(self, sid: str | None) -> ConsoleSession | None:
        with self._lock:
            return self._sessions.pop(sid, None) if sid else None

    def _purge(self, now: datetime) -> None:
        gone = [k for k, s in self._sessions.items() if now >= s.expires_at or now - s.last_seen > self._idle]
        for key in gone:
            del self._sessions[key]
