"""The service's own check behind the domain TokenVerifier port."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idverify.domain import ports
from idverify.domain.errors import InvalidToken
from idverify.tokens.issuer import IssuedToken
from idverify.tokens.keys import KeyRing
from idverify.tokens.server_verifier import KeyRingTokenVerifier
from tests.fakes import FixedClock
from tests.unit.tokens.conftest import ISSUER

BINDING = ports.TokenBinding("LA-2026-0001", "12000.00", "CNY", "6222021234567890")


def test_the_port_returns_the_domain_view_of_a_verified_token(
    ring: KeyRing, clock: FixedClock, issue: Callable[..., IssuedToken]
) -> None:
    issued = issue()
    verifier: ports.TokenVerifier = KeyRingTokenVerifier(ring, ISSUER, ["lender-a", "lender-b"])
    verified = verifier.verify(issued.token, now=clock.now(), expected=BINDING)
    assert verified == ports.VerifiedToken(
        jti=issued.jti, subject=verified.subject, session_id="S-1", assurance_level="urn:idverify:acr:high",
        methods=("doc", "face", "mfa", "sms"), expires_at=issued.expires_at,
    )


def test_the_port_refuses_a_binding_for_another_amount(
    ring: KeyRing, clock: FixedClock, issue: Callable[..., IssuedToken]
) -> None:
    other = ports.TokenBinding("LA-2026-0001", "12000.01", "CNY", "6222021234567890")
    with pytest.raises(InvalidToken) as caught:
        KeyRingTokenVerifier(ring, ISSUER, ["lender-a"]).verify(issue().token, now=clock.now(), expected=other)
    assert caught.value.code == "token_binding_mismatch"
