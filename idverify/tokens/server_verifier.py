"""The service's own token check (RedeemToken, IntrospectToken): the client ``TokenVerifier`` with the key ring as
its key source, behind the domain's ``TokenVerifier`` port. Single use and revocation are the caller's business."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from idverify.client.jwks import JwksSource
from idverify.client.verifier import ExpectedBinding, TokenVerifier
from idverify.domain import ports


class KeyRingTokenVerifier:
    """Satisfies ``idverify.domain.ports.TokenVerifier``. ``key_source`` is normally the ``KeyRing``.

    ``audience``: every relying party this deployment issues for; the transport should also check that the token's
    ``aud`` names the authenticated caller.
    """

    def __init__(self, key_source: JwksSource, issuer: str, audience: Collection[str], leeway_s: int = 30) -> None:
        self._verifier = TokenVerifier(key_source, issuer, audience, leeway_s)

    def verify(self, token: str, *, now: datetime, expected: ports.TokenBinding | None) -> ports.VerifiedToken:
        """Raises ``InvalidToken`` (see ``TokenVerifier.verify``)."""
        binding = None
        if expected is not None:
            binding = ExpectedBinding(
                expected.loan_application_id, expected.amount_value, expected.currency, expected.payout_account
            )
        verified = self._verifier.verify(token, now=now, expected=binding)
        return ports.VerifiedToken(
            jti=verified.jti,
            subject=verified.subject,
            session_id=verified.session_id,
            assurance_level=verified.acr,
            methods=verified.amr,
            expires_at=verified.expires_at,
        )
