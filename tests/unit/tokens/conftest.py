"""Fixtures for the token tests: a fixed clock, a seeded RNG, a key ring, an issuer, a verifier, and a forger that
signs arbitrary headers and claims with a given Ed25519 key (to test each claim check in isolation)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from idverify.client.verifier import TokenVerifier
from idverify.domain.values import Factor
from idverify.tokens.issuer import IssuedToken, JwsTokenIssuer
from idverify.tokens.keys import KeyRing
from tests.fakes import FixedClock, SeededRandom

ISSUER = "https://idverify.example"
AUDIENCE = "lender-a"
SECRET = b"k" * 32
LOAN: dict[str, Any] = {
    "loan_application_id": "LA-2026-0001",
    "amount_value": "12000.00",
    "currency": "CNY",
    "payout_account": "6222 0212 3456 7890",
}
ALL_FACTORS = frozenset(
    {Factor.SMS_OTP, Factor.FACE_MATCH_DOCUMENT, Factor.LIVENESS, Factor.DOCUMENT}
)

Forge = Callable[..., str]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def rnd() -> SeededRandom:
    return SeededRandom(11)


@pytest.fixture
def ring(clock: FixedClock, rnd: SeededRandom) -> KeyRing:
    return KeyRing.generate(clock.now(), rnd)


@pytest.fixture
def issuer(ring: KeyRing, clock: FixedClock, rnd: SeededRandom) -> JwsTokenIssuer:
    return JwsTokenIssuer(
        key_ring=ring, issuer=ISSUER, audience=[AUDIENCE, "lender-b"], subject_secret=SECRET,
        clock=clock, random=rnd,
    )


@pytest.fixture
def verifier(ring: KeyRing, clock: FixedClock) -> TokenVerifier:
    return TokenVerifier(ring, ISSUER, AUDIENCE, clock=clock)


@pytest.fixture
def issue(issuer: JwsTokenIssuer) -> Callable[..., IssuedToken]:
    def _issue(**overrides: Any) -> IssuedToken:
        args: dict[str, Any] = {
            "session_id": "S-1", "applicant_id": "applicant-42", "factors": ALL_FACTORS, "pad_ran": True, **LOAN,
        }
        args.update(overrides)
        return issuer.issue(**args)

    return _issue


@pytest.fixture
def good_claims(issue: Callable[..., IssuedToken]) -> dict[str, Any]:
    """The claims of a genuinely issued token (decoded without checks), for forging variants."""
    payload = issue().token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


@pytest.fixture
def forge(ring: KeyRing) -> Forge:
    """Sign ``header`` + ``claims`` with ``key`` (default: the ring's active key), bypassing every issuer check."""

    def _forge(
        claims: dict[str, Any] | bytes,
        header: dict[str, Any] | None = None,
        key: Ed25519PrivateKey | None = None,
    ) -> str:
        signing_key = key or ring.active.private_key
        assert signing_key is not None
        head = header if header is not None else {"alg": "EdDSA", "kid": ring.active.kid, "typ": "idverify-vt+jwt"}
        body = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
        signing_input = f"{b64json(head)}.{b64(body)}"
        return f"{signing_input}.{b64(signing_key.sign(signing_input.encode()))}"

    return _forge
