"""What the domain needs from the world, as structural Protocols.

Adapters are named after their technology (``SqlSessionStore``, ``OutboxSmsSender``) and satisfy these without
inheriting from them. Factor-specific ports live beside their factor module when only that factor uses them.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from idverify.domain.values import Factor


class Clock(Protocol):
    """The only source of the current time. ``now()`` is timezone-aware UTC."""

    def now(self) -> datetime: ...


class Random(Protocol):
    """The only source of randomness for codes, ids, nonces and challenges."""

    def token_bytes(self, n: int) -> bytes: ...

    def randbelow(self, n: int) -> int: ...


class SystemClock:
    """Production clock: ``datetime.now(UTC)``."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SystemRandom:
    """Production randomness: the ``secrets`` CSPRNG."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def randbelow(self, n: int) -> int:
        return secrets.randbelow(n)


class FieldProtector(Protocol):
    """Encrypts personal data at rest. ``aad`` binds a ciphertext to where it belongs (table, column, row id)."""

    def seal(self, value: str, aad: str) -> bytes: ...

    def unseal(self, sealed: bytes, aad: str) -> str: ...


class TokenIssuer(Protocol):
    """Signs the verification token for a completed session (see ``idverify.tokens``)."""

    def issue(
        self,
        *,
        session_id: str,
        applicant_id: str,
        loan_application_id: str,
        amount_value: str,
        currency: str,
        payout_account: str,
        factors: Collection[Factor],
        pad_ran: bool,
        key_thumbprint: str,
        now: datetime,
        phone_change: str = "",
        liveness_evidence: Collection[str] | None = None,
    ) -> IssuedToken: ...


class TokenVerifier(Protocol):
    """Verifies signature and claims together; raises ``InvalidToken``."""

    def verify(self, token: str, *, now: datetime, expected: TokenBinding | None) -> VerifiedToken: ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        return f"IssuedToken(jti={self.jti!r}, expires_at={self.expires_at!r})"


@dataclass(frozen=True, slots=True)
class TokenBinding:
    """What the loan service is about to act on; must equal what the token was issued for."""

    loan_application_id: str
    amount_value: str
    currency: str
    payout_account: str

    def __repr__(self) -> str:
        return f"TokenBinding(loan_application_id={self.loan_application_id!r}, <redacted>)"


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    jti: str
    subject: str
    session_id: str
    assurance_level: str
    methods: tuple[str, ...]
    expires_at: datetime


class PlatformAttestor(Protocol):
    """Judges a platform attestation (Play Integrity, App Attest) presented at a liveness challenge's start.

    Returns ``"genuine"`` when the platform vouches for the app and device and the token is bound to ``nonce``,
    ``"failed"`` when it says otherwise or the token does not verify, ``None`` when this deployment cannot judge
    that platform (no adapter): an attestation nobody can judge is no evidence either way.
    """

    def judge(self, platform: str, token: bytes, nonce: str) -> str | None: ...


class CaptureKeys(Protocol):
    """Per-capture signing keys held by the capture page (WebCrypto ECDSA P-256, non-extractable).

    ``normalise`` checks a public JWK and returns its canonical JSON (raises InvalidArgument
    ``capture_key_invalid``); ``verify`` says whether ``signature`` (IEEE P1363 ``r||s``) signs ``message``.
    """

    def normalise(self, jwk: str) -> str: ...

    def verify(self, jwk: str, message: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class DevicePublicKey:
    """A device's public key as registered: its RFC 7638 thumbprint (the key id), JOSE algorithm and canonical
    JWK JSON (public members only)."""

    key_id: str
    algorithm: str
    jwk: str


class DeviceKeys(Protocol):
    """Device keys held by a person's phone (P-256 or Ed25519, as phone secure hardware makes them).

    ``parse`` checks a public JWK and returns it canonical (raises InvalidArgument ``device_key_invalid``);
    ``verify`` says whether ``signature`` by ``jwk`` signs ``message`` (ES256 signatures as r||s or DER).
    """

    def parse(self, jwk: str) -> DevicePublicKey: ...

    def verify(self, jwk: str, message: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class SimSwapReport:
    """What a carrier (or the lender) says about the phone number: ``changed_at`` when its SIM was swapped or the
    number ported recently, else None; ``source`` names who said so ("carrier:<adapter>", "lender")."""

    changed_at: datetime | None
    source: str


class SimSwapLookup(Protocol):
    """A carrier lookup adapter: recent SIM swap or port-out of a phone number. Raises nothing for "unknown":
    returns ``SimSwapReport(None, source)``."""

    def lookup(self, phone_e164: str) -> SimSwapReport: ...
