"""Persistence ports. One unit of work spans one use case; what it writes commits or rolls back together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Protocol

from idverify.domain.face import Embedding
from idverify.domain.session import VerificationSession


@dataclass(frozen=True, slots=True)
class SessionSecrets:
    """Personal data kept with a session only as long as the session needs it; encrypted at rest."""

    phone_e164: str = ""
    payout_account: str = ""

    def __repr__(self) -> str:
        return "SessionSecrets(<redacted>)"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    jti: str
    session_id: str
    applicant_id: str
    issued_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None = None
    revoked_at: datetime | None = None
    revoke_reason: str = ""
    redemption_id: str = ""
    redeemed_by: str = ""


class SessionRepository(Protocol):
    def add(self, session: VerificationSession, secrets: SessionSecrets) -> None:
        """Insert a new session. Raises ``AlreadyExists`` if its id or reference is taken."""

    def get(self, session_id: str, *, for_update: bool = False) -> VerificationSession:
        """Raises ``NotFound("session_not_found")``. ``for_update`` locks the row until the unit of work ends, so
        concurrent steps of one verification run one after the other (PostgreSQL; SQLite serialises writers)."""

    def find_open(self, applicant_id: str, loan_application_id: str) -> VerificationSession | None: ...

    def find_by_reference(self, reference: str) -> VerificationSession | None: ...

    def update(self, session: VerificationSession) -> VerificationSession:
        """Persist a changed session if nobody else changed it since it was read (``version``); append its new
        factor results. Returns it with the new version. Raises ``Aborted("concurrent_update")`` otherwise."""

    def secrets(self, session_id: str) -> SessionSecrets: ...


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What ``record_event`` was asked to record; the recorder adds the actor and seals it into the chain."""

    action: str
    object_type: str
    object_id: str
    outcome: str
    reason_code: str = ""
    details: Mapping[str, object] = field(default_factory=dict)


class TokenRepository(Protocol):
    def add(self, record: TokenRecord) -> None: ...

    def get(self, jti: str) -> TokenRecord | None: ...

    def redeem(self, jti: str, now: datetime, *, caller_id: str, redemption_id: str) -> TokenRecord:
        """Atomically mark ``jti`` redeemed by ``caller_id`` as ``redemption_id``; two concurrent callers never
        both succeed. A token this caller already redeemed returns that first redemption unchanged (a retry after
        a lost answer). Raises ``InvalidToken`` (token_redeemed for anyone else, token_revoked, token_invalid)."""

    def redeem_if_unfrozen(self, jti: str, now: datetime, *, caller_id: str, redemption_id: str,
                           record: AuditEvent | None = None) -> TokenRecord | None:
        """The common case in one statement: mark ``jti`` redeemed when it is unredeemed, unrevoked and its
        applicant has no active freeze. None when it did not (the caller then finds out why). ``record`` is
        appended to the audit trail when, and only when, the token was redeemed here, in the same statement where
        the database allows it (PostgreSQL) and in the same transaction always."""

    def revoke(self, *, now: datetime, reason: str, jti: str = "", applicant_id: str = "",
               session_id: str = "") -> int:
        """Revoke unredeemed, unexpired tokens by one selector; returns how many were revoked."""


@dataclass(frozen=True, slots=True)
class StoredChallenge:
    challenge_id: str
    session_id: str
    nonce: str
    poses: tuple[str, ...]
    issued_at: datetime
    deadline: datetime


@dataclass(frozen=True, slots=True)
class EnrolledTemplate:
    template_id: str
    applicant_id: str
    embedding: Embedding
    enrolled_at: datetime
    session_id: str
    consent_text_version: str


class FaceRepository(Protocol):
    def add_challenge(self, challenge: StoredChallenge) -> None: ...

    def take_challenge(self, challenge_id: str, session_id: str) -> StoredChallenge:
        """Mark a challenge answered and return it. Raises NotFound / FailedPrecondition("liveness_challenge_used")."""

    def put_selfie(self, session_id: str, embedding: Embedding, expires_at: datetime) -> None: ...

    def put_portrait(self, session_id: str, embedding: Embedding, expires_at: datetime) -> None: ...

    def session_templates(self, session_id: str) -> tuple[Embedding | None, Embedding | None]: ...

    def enrolled(self, applicant_id: str) -> EnrolledTemplate | None: ...

    def enrol(self, template: EnrolledTemplate) -> None: ...


class FreezeRepository(Protocol):
    def is_frozen(self, applicant_id: str) -> bool:
        """Whether an active freeze (consumer, dispute case or staff) stops this applicant's verifications."""


@dataclass(frozen=True, slots=True)
class DeviceKeyRecord:
    """A person's registered device key. ``device_index`` is a keyed blind index of the app's device id."""

    key_id: str
    applicant_id: str
    algorithm: str
    jwk: str
    label: str
    device_index: str
    device_hint: str
    registered_at: datetime
    registered_by_session: str
    revoked_at: datetime | None = None


class DeviceRepository(Protocol):
    """Device keys, the per-verification proof nonces and proofs, and SIM-swap evidence of a verification."""

    def add_key(self, record: DeviceKeyRecord, phone_e164: str) -> None:
        """Store a key (and the phone to notify, sealed). Raises ``AlreadyExists`` (device_key_exists,
        session_already_registered_device)."""

    def keys(self, applicant_id: str) -> list[DeviceKeyRecord]:
        """Active and revoked keys of the applicant, newest first."""

    def revoke_key(self, applicant_id: str, key_id: str, now: datetime) -> DeviceKeyRecord:
        """Revoke one key of the applicant. Raises ``NotFound("device_key_unknown")``."""

    def notify_phone(self, applicant_id: str) -> str:
        """The phone given with the applicant's newest active key ("" when none)."""

    def nonce(self, session_id: str, make: str | None) -> str:
        """The session's device-proof nonce, storing ``make`` when it has none yet ("" when none and ``make`` is
        None)."""

    def add_proof(self, session_id: str, key_id: str, at: datetime) -> None:
        """Record the session's one device proof. Raises ``AlreadyExists("device_proof_replayed")``."""

    def proof(self, session_id: str) -> str:
        """The key id that proved the session ("" when none)."""

    def add_phone_change(self, session_id: str, source: str, changed_at: datetime | None) -> None:
        """Record that the session's phone was recently swapped or ported, and who said so."""

    def phone_change(self, session_id: str) -> str:
        """Who reported a recent SIM swap or port for the session ("" when none)."""


class HistoryRepository(Protocol):
    """Reads for a person's own verification history."""

    def session_ids(self, applicant_id: str, *, before: tuple[datetime, str] | None, limit: int) -> list[str]:
        """The applicant's session ids, newest first, strictly before the (created_at, session_id) cursor."""

    def tokens(self, session_id: str) -> list[TokenRecord]:
        """The tokens issued for the session, newest first."""

    def disputed(self, session_id: str) -> bool:
        """Whether a dispute case names the session."""


class UnitOfWork(Protocol):
    # Read-only members: an adapter's own repository types (SqlSessionRepository, ...) then satisfy them.
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def tokens(self) -> TokenRepository: ...
    @property
    def faces(self) -> FaceRepository: ...
    @property
    def freezes(self) -> FreezeRepository: ...
    @property
    def devices(self) -> DeviceRepository: ...
    @property
    def history(self) -> HistoryRepository: ...

    def record_event(self, *, action: str, object_type: str, object_id: str, outcome: str, reason_code: str = "",
                     details: Mapping[str, object] | None = None) -> None:
        """Append an entry to the tamper-evident audit trail in this unit of work's transaction: it commits with
        the action it records or not at all. ``details`` must hold no personal data (ids, codes, scores only)."""

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Commit when the block raised nothing, roll back otherwise."""
