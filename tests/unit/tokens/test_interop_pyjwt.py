"""A second, independent JOSE library (PyJWT) accepts our tokens against our JWKS; we accept only our own format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from idverify.client.verifier import TokenVerifier
from idverify.domain.errors import InvalidToken
from idverify.domain.values import Factor
from idverify.tokens.issuer import IssuedToken, JwsTokenIssuer
from idverify.tokens.keys import KeyRing
from tests.fakes import FixedClock, SeededRandom
from tests.unit.tokens.conftest import AUDIENCE, ISSUER, LOAN, SECRET


@pytest.fixture
def wall_clock() -> FixedClock:
    """PyJWT checks exp/nbf/iat against the real clock, so these tokens are issued at the real time."""
    return FixedClock(datetime.now(UTC))


@pytest.fixture
def live_ring(wall_clock: FixedClock) -> KeyRing:
    return KeyRing.generate(wall_clock.now(), SeededRandom(5))


@pytest.fixture
def live_token(live_ring: KeyRing, wall_clock: FixedClock) -> IssuedToken:
    issuer = JwsTokenIssuer(key_ring=live_ring, issuer=ISSUER, audience=[AUDIENCE], subject_secret=SECRET,
                            clock=wall_clock, random=SeededRandom(6))
    return issuer.issue(session_id="S-1", applicant_id="A-1", factors={Factor.SMS_OTP}, pad_ran=False, **LOAN)


def _pyjwt_decode(token: str, jwks: dict[str, Any], audience: str = AUDIENCE) -> dict[str, Any]:
    key_set = jwt.PyJWKSet.from_dict(jwks)
    key = key_set[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["EdDSA"], audience=audience, issuer=ISSUER,
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
    )
    return claims


def test_pyjwt_verifies_our_token_against_our_published_jwks(
    live_token: IssuedToken, live_ring: KeyRing, wall_clock: FixedClock
) -> None:
    claims = _pyjwt_decode(live_token.token, live_ring.jwks(wall_clock.now()))
    assert claims["jti"] == live_token.jti
    assert jwt.get_unverified_header(live_token.token) == {
        "alg": "EdDSA", "kid": live_ring.active.kid, "typ": "idverify-vt+jwt"
    }


def test_pyjwt_refuses_our_token_when_tampered_or_for_another_audience(
    live_token: IssuedToken, live_ring: KeyRing, wall_clock: FixedClock
) -> None:
    jwks = live_ring.jwks(wall_clock.now())
    head, payload, signature = live_token.token.split(".")
    tampered = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    with pytest.raises(jwt.InvalidTokenError):
        _pyjwt_decode(tampered, jwks)
    with pytest.raises(jwt.InvalidAudienceError):
        _pyjwt_decode(live_token.token, jwks, audience="lender-z")


def test_we_accept_a_pyjwt_token_that_follows_our_format_exactly(
    live_token: IssuedToken, live_ring: KeyRing, wall_clock: FixedClock
) -> None:
    claims = _pyjwt_decode(live_token.token, live_ring.jwks(wall_clock.now()))
    assert live_ring.active.private_key is not None
    token = jwt.encode(claims, live_ring.active.private_key, algorithm="EdDSA",
                       headers={"kid": live_ring.active.kid, "typ": "idverify-vt+jwt"})
    verified = TokenVerifier(live_ring.jwks(wall_clock.now()), ISSUER, AUDIENCE).verify(token, now=wall_clock.now())
    assert verified.jti == live_token.jti


def test_we_refuse_pyjwts_default_typ_even_with_our_key_and_claims(
    live_token: IssuedToken, live_ring: KeyRing, wall_clock: FixedClock
) -> None:
    claims = _pyjwt_decode(live_token.token, live_ring.jwks(wall_clock.now()))
    assert live_ring.active.private_key is not None
    token = jwt.encode(claims, live_ring.active.private_key, algorithm="EdDSA", headers={"kid": live_ring.active.kid})
    with pytest.raises(InvalidToken) as caught:
        TokenVerifier(live_ring, ISSUER, AUDIENCE).verify(token, now=wall_clock.now())
    assert caught.value.internal_reason == "wrong_typ"
