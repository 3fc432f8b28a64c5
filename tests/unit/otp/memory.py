"""In-memory stand-ins for the OTP ports, a few lines each (single-threaded unit tests only)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from idverify.factors.otp import Challenge, ChallengeStatus
from idverify.factors.otp_limits import LockoutPolicy, LockoutState
from idverify.factors.totp import TotpRecord


class MemoryOtpStore:
    def __init__(self) -> None:
        self.rows: dict[str, Challenge] = {}
        self.seq: dict[str, int] = {}
        self._next = 0

    def create(self, challenge: Challenge) -> None:
        self.rows[challenge.challenge_id] = challenge

    def activate(self, challenge_id: str, session_id: str, provider_message_id: str) -> None:
        for cid, row in self.rows.items():
            if row.session_id == session_id and row.status is ChallengeStatus.PENDING and cid != challenge_id:
                self.rows[cid] = dataclasses.replace(row, status=ChallengeStatus.SUPERSEDED)
        self._set(challenge_id, status=ChallengeStatus.PENDING)
        self._next += 1
        self.seq[challenge_id] = self._next

    def mark_failed(self, challenge_id: str) -> None:
        self._set(challenge_id, status=ChallengeStatus.FAILED)

    def latest(self, session_id: str) -> Challenge | None:
        sent = [c for c in self.rows.values() if c.session_id == session_id and c.challenge_id in self.seq]
        sent = [c for c in sent if c.status is not ChallengeStatus.FAILED]
        return max(sent, key=lambda c: self.seq[c.challenge_id], default=None)

    def burn_attempt(self, challenge_id: str, now: datetime) -> int | None:
        row = self.rows[challenge_id]
        if row.status is not ChallengeStatus.PENDING or row.attempts >= row.max_attempts or now >= row.expires_at:
            return None
        self._set(challenge_id, attempts=row.attempts + 1)
        return row.attempts + 1

    def consume(self, challenge_id: str, now: datetime) -> bool:
        if self.rows[challenge_id].status is not ChallengeStatus.PENDING:
            return False
        self._set(challenge_id, status=ChallengeStatus.USED)
        return True

    def _set(self, challenge_id: str, **changes: object) -> None:
        self.rows[challenge_id] = dataclasses.replace(self.rows[challenge_id], **changes)  # type: ignore[arg-type]


class MemoryCounterStore:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, datetime], int] = {}
        self.claims: dict[str, datetime] = {}
        self.lockouts: dict[str, LockoutState] = {}

    def hit(self, key: str, window_start: datetime, expires_at: datetime) -> int:
        self.counts[key, window_start] = self.counts.get((key, window_start), 0) + 1
        return self.counts[key, window_start]

    def release(self, key: str, window_start: datetime) -> None:
        self.counts[key, window_start] = max(0, self.counts.get((key, window_start), 0) - 1)

    def claim(self, key: str, now: datetime, until: datetime) -> datetime | None:
        current = self.claims.get(key)
        if current is not None and current > now:
            return current
        self.claims[key] = until
        return None

    def release_claim(self, key: str, until: datetime, now: datetime) -> None:
        if self.claims.get(key) == until:
            self.claims[key] = now

    def reserve_guess(self, subject: str, now: datetime, policy: LockoutPolicy) -> tuple[bool, LockoutState]:
        state = self.lockouts.get(subject, LockoutState())
        new = policy.reserve(state, now)
        if new is None:
            return False, state
        self.lockouts[subject] = new
        return True, new

    def lockout_state(self, subject: str) -> LockoutState:
        return self.lockouts.get(subject, LockoutState())

    def clear_guesses(self, subject: str) -> None:
        self.lockouts[subject] = LockoutState()


class RecordingSender:
    """Keeps what would have been sent; raises ``fail_with`` instead when set."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None

    def send(self, to_e164: str, body: str) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((to_e164, body))
        return f"SM{len(self.sent):032d}"

    def last_code(self, length: int = 6) -> str:
        import re

        found = re.findall(rf"(?<![0-9])[0-9]{{{length}}}(?![0-9])", self.sent[-1][1])
        assert found, "no code in the last message"
        return str(found[0])


class MemoryTotpStore:
    def __init__(self) -> None:
        self.rows: dict[str, TotpRecord] = {}

    def add(self, record: TotpRecord, now: datetime) -> bool:
        if record.applicant_id in self.rows:
            return False
        self.rows[record.applicant_id] = record
        return True

    def get(self, applicant_id: str) -> TotpRecord | None:
        return self.rows.get(applicant_id)

    def advance(self, applicant_id: str, counter: int) -> bool:
        row = self.rows[applicant_id]
        if row.last_counter is not None and row.last_counter >= counter:
            return False
        self.rows[applicant_id] = dataclasses.replace(row, last_counter=counter)
        return True

    def remove(self, applicant_id: str) -> bool:
        return self.rows.pop(applicant_id, None) is not None
