"""Hand-written fakes for the domain's ports. A few lines each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        self._now += timedelta(seconds=seconds, **kwargs)


class ManualMonotonic:
    """A monotonic clock (``time.monotonic``'s stand-in) that only moves when ``now`` is set or advanced."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class SeededRandom:
    """Deterministic stand-in for the CSPRNG (never use outside tests)."""

    def __init__(self, seed: int = 7) -> None:
        import random

        self._rng = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return bytes(self._rng.getrandbits(8) for _ in range(n))

    def randbelow(self, n: int) -> int:
        return self._rng.randrange(n)


class InMemoryUnitOfWork:
    """A unit of work over dicts, with commit/rollback by copying: enough to test use cases without I/O."""

    def __init__(self, store: "InMemoryStore") -> None:
        self._store = store

    def __enter__(self) -> "InMemoryUnitOfWork":
        import copy

        self._snapshot = copy.deepcopy((self._store.sessions, self._store.secrets, self._store.tokens,
                                        self._store.events))
        self.sessions = _Sessions(self._store)
        self.tokens = _Tokens(self._store)
        self.freezes = _Freezes(self._store)
        self.devices = _Devices(self._store)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if exc_type is not None:
            self._store.sessions, self._store.secrets, self._store.tokens, self._store.events = self._snapshot

    def record_event(self, **event) -> None:  # type: ignore[no-untyped-def]
        self._store.events.append(event)


class InMemoryStore:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.sessions: dict = {}
        self.secrets: dict = {}
        self.tokens: dict = {}
        self.frozen: set[str] = set()
        self.device_keys: dict = {}
        self.device_phones: dict = {}
        self.nonces: dict = {}
        self.proofs: dict = {}
        self.phone_changes: dict = {}

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class _Sessions:
    def __init__(self, store: InMemoryStore) -> None:
        self._s = store

    def add(self, session, secrets) -> None:  # type: ignore[no-untyped-def]
        from idverify.domain.errors import AlreadyExists

        if session.session_id in self._s.sessions:
            raise AlreadyExists("verification_already_open")
        self._s.sessions[session.session_id] = session
        self._s.secrets[session.session_id] = secrets

    def get(self, session_id, for_update=False):  # type: ignore[no-untyped-def]
        from idverify.domain.errors import NotFound

        if session_id not in self._s.sessions:
            raise NotFound("session_not_found")
        return self._s.sessions[session_id]

    def find_open(self, applicant_id, loan_application_id):  # type: ignore[no-untyped-def]
        for s in self._s.sessions.values():
            if (s.context.applicant_id, s.context.loan_application_id) == (applicant_id, loan_application_id) and (
                s.status.value in {"created", "in_progress"}
            ):
                return s
        return None

    def find_by_reference(self, reference):  # type: ignore[no-untyped-def]
        return next((s for s in self._s.sessions.values() if s.reference == reference), None)

    def update(self, session):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        from idverify.domain.errors import Aborted

        if self._s.sessions[session.session_id].version != session.version:
            raise Aborted("concurrent_update")
        new = replace(session, version=session.version + 1)
        self._s.sessions[session.session_id] = new
        return new

    def secrets(self, session_id):  # type: ignore[no-untyped-def]
        return self._s.secrets[session_id]


class _Devices:
    """Device keys, proof nonces and proofs, SIM-swap evidence (``DeviceRepository``)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._s = store

    def add_key(self, record, phone_e164) -> None:  # type: ignore[no-untyped-def]
        from idverify.domain.errors import AlreadyExists

        if record.key_id in self._s.device_keys:
            raise AlreadyExists("device_key_exists")
        if any(k.registered_by_session == record.registered_by_session for k in self._s.device_keys.values()):
            raise AlreadyExists("session_already_registered_device")
        self._s.device_keys[record.key_id] = record
        self._s.device_phones[record.key_id] = phone_e164

    def keys(self, applicant_id):  # type: ignore[no-untyped-def]
        found = [k for k in self._s.device_keys.values() if k.applicant_id == applicant_id]
        return sorted(found, key=lambda k: k.registered_at, reverse=True)

    def revoke_key(self, applicant_id, key_id, now):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        from idverify.domain.errors import NotFound

        record = self._s.device_keys.get(key_id)
        if record is None or record.applicant_id != applicant_id:
            raise NotFound("device_key_unknown")
        self._s.device_keys[key_id] = replace(record, revoked_at=record.revoked_at or now)
        return self._s.device_keys[key_id]

    def notify_phone(self, applicant_id):  # type: ignore[no-untyped-def]
        active = [k for k in self.keys(applicant_id) if k.revoked_at is None]
        return self._s.device_phones.get(active[0].key_id, "") if active else ""

    def nonce(self, session_id, make):  # type: ignore[no-untyped-def]
        if session_id not in self._s.nonces and make is not None:
            self._s.nonces[session_id] = make
        return self._s.nonces.get(session_id, "")

    def add_proof(self, session_id, key_id, at) -> None:  # type: ignore[no-untyped-def]
        from idverify.domain.errors import AlreadyExists

        if session_id in self._s.proofs:
            raise AlreadyExists("device_proof_replayed")
        self._s.proofs[session_id] = key_id

    def proof(self, session_id):  # type: ignore[no-untyped-def]
        return self._s.proofs.get(session_id, "")

    def add_phone_change(self, session_id, source, changed_at) -> None:  # type: ignore[no-untyped-def]
        self._s.phone_changes.setdefault(session_id, source)

    def phone_change(self, session_id):  # type: ignore[no-untyped-def]
        return self._s.phone_changes.get(session_id, "")


class _Freezes:
    def __init__(self, store: InMemoryStore) -> None:
        self._s = store

    def is_frozen(self, applicant_id: str) -> bool:
        return applicant_id in self._s.frozen


class _Tokens:
    def __init__(self, store: InMemoryStore) -> None:
        self._s = store

    def add(self, record) -> None:  # type: ignore[no-untyped-def]
        self._s.tokens[record.jti] = record

    def get(self, jti):  # type: ignore[no-untyped-def]
        return self._s.tokens.get(jti)

    def redeem(self, jti, now, *, caller_id="", redemption_id=""):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        from idverify.domain.errors import InvalidToken

        record = self._s.tokens.get(jti)
        if record is None:
            raise InvalidToken("token_invalid")
        if record.redeemed_at is not None and record.redeemed_by == caller_id and record.redemption_id:
            return record
        if record.revoked_at is not None:
            raise InvalidToken("token_revoked")
        if record.redeemed_at is not None:
            raise InvalidToken("token_redeemed")
        self._s.tokens[jti] = replace(record, redeemed_at=now, redeemed_by=caller_id, redemption_id=redemption_id)
        return self._s.tokens[jti]

    def redeem_if_unfrozen(self, jti, now, *, caller_id="", redemption_id="", record=None):  # type: ignore[no-untyped-def]
        found = self._s.tokens.get(jti)
        if found is None or found.redeemed_at or found.revoked_at or found.applicant_id in self._s.frozen:
            return None
        redeemed = self.redeem(jti, now, caller_id=caller_id, redemption_id=redemption_id)
        if record is not None:
            self._s.events.append({"action": record.action, "object_type": record.object_type,
                                   "object_id": record.object_id, "outcome": record.outcome,
                                   "reason_code": record.reason_code, "details": dict(record.details)})
        return redeemed

    def revoke(self, *, now, reason, jti="", applicant_id="", session_id=""):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        count = 0
        for key, r in list(self._s.tokens.items()):
            if r.redeemed_at or r.revoked_at or r.expires_at <= now:
                continue
            if (jti and r.jti == jti) or (applicant_id and r.applicant_id == applicant_id) or (
                session_id and r.session_id == session_id
            ):
                self._s.tokens[key] = replace(r, revoked_at=now, revoke_reason=reason)
                count += 1
        return count


class RecordingIssuer:
    """A token issuer that records what it was asked to sign and returns an opaque token."""

    def __init__(self, clock: FixedClock, ttl_s: int = 600) -> None:
        self.calls: list[dict] = []
        self._clock = clock
        self._ttl = ttl_s

    def issue(self, **kwargs):  # type: ignore[no-untyped-def]
        from idverify.domain.ports import IssuedToken

        self.calls.append(kwargs)
        now = kwargs["now"]
        return IssuedToken(token=f"tok-{len(self.calls)}", jti=f"jti-{len(self.calls)}", issued_at=now,
                           expires_at=now + timedelta(seconds=self._ttl))
