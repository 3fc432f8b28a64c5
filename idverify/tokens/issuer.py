"""Issue verification tokens: compact JWS, Ed25519 (``alg: "EdDSA"``), format in ``idverify.client.claims``.

Library choice: joserfc does the keys (RFC 7638 thumbprints, JWK import and export, the JWKS); the compact
serialisation of a token (two base64url segments and a signature, RFC 7515 section 7.1) is written out here and
signed with cryptography's Ed25519, because going through joserfc's serialiser cost about 20 us per token in
registry and key checks (bench/results/tokens.md). Tests verify our tokens with joserfc and with PyJWT, as two
independent implementations that must accept them.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from idverify.client.claims import (
    ALGORITHM,
    AMOUNT_PATTERN,
    AUTHORIZATION_DETAILS_TYPE,
    CURRENCY_PATTERN,
    DIGEST_B64_PATTERN,
    MAX_LIFETIME_S,
    MEDIA_TYPE,
    b64url,
    is_identifier,
    normalise_payout_account,
    payout_account_hash,
)
from idverify.domain import ports
from idverify.domain.errors import InvalidArgument
from idverify.domain.ports import Clock, Random
from idverify.domain.values import Factor
from idverify.tokens.assurance import decide_assurance
from idverify.tokens.keys import KeyRing

DEFAULT_TTL_S = 600
_MIN_SUBJECT_SECRET_BYTES = 32
_MAX_PAYOUT_ACCOUNT = 64


@dataclass(frozen=True, slots=True, repr=False)
class IssuedToken(ports.IssuedToken):
    """A signed token and what the service records about it. ``repr`` never shows the token."""

    kid: str

    def __repr__(self) -> str:
        return f"IssuedToken(jti={self.jti!r}, kid={self.kid!r}, expires_at={self.expires_at!r})"


def b64url_bytes(data: bytes) -> bytes:
    """base64url without padding, as bytes (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def pairwise_subject(secret: bytes, sector: str, applicant_id: str) -> str:
    """``base64url(HMAC-SHA256(secret, "idverify-sub-v1" NUL sector NUL applicant_id))``.

    The same applicant gets the same ``sub`` within a sector (a lender) and unrelated ones across sectors; without
    the secret nobody can go from ``sub`` back to the applicant id. Never derived from a national ID or phone.
    """
    message = f"idverify-sub-v1\x00{sector}\x00{applicant_id}".encode()
    return b64url(hmac.digest(secret, message, "sha256"))


class JwsTokenIssuer:
    """Signs tokens with the key ring's active key. Satisfies ``idverify.domain.ports.TokenIssuer`` except that it
    takes the passed ``factors`` (to decide ``acr``/``amr`` itself) where the port has ``methods``."""

    def __init__(
        self,
        *,
        key_ring: KeyRing,
        issuer: str,
        audience: Sequence[str],
        subject_secret: bytes,
        clock: Clock,
        random: Random,
        sector: str | None = None,
        ttl_s: int = DEFAULT_TTL_S,
        max_ttl_s: int = MAX_LIFETIME_S,
    ) -> None:
        if not issuer or not audience or not all(audience):
            raise ValueError("issuer and audience are required")
        if len(subject_secret) < _MIN_SUBJECT_SECRET_BYTES:
            raise ValueError(f"subject_secret must be at least {_MIN_SUBJECT_SECRET_BYTES} bytes")
        if not 0 < max_ttl_s <= min(MAX_LIFETIME_S, key_ring.max_token_ttl_s):
            raise ValueError("max_ttl_s must be positive and within the key ring's max_token_ttl_s")
        if not 0 < ttl_s <= max_ttl_s:
            raise ValueError("ttl_s must be between 1 and max_ttl_s")
        if not is_identifier(sector or audience[0]):
            raise ValueError("sector must be a printable identifier")
        self.key_ring = key_ring
        self._issuer = issuer
        self._audience = list(audience)
        self._sector = sector or audience[0]
        self._secret = subject_secret
        self._clock = clock
        self._random = random
        self._ttl_s = ttl_s
        self._max_ttl_s = max_ttl_s
        self._headers: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"JwsTokenIssuer(issuer={self._issuer!r}, audience={self._audience!r}, ttl_s={self._ttl_s})"

    def _header_segment(self, kid: str) -> bytes:
        segment = self._headers.get(kid)
        if segment is None:
            header = {"alg": ALGORITHM, "kid": kid, "typ": MEDIA_TYPE}
            segment = b64url_bytes(json.dumps(header, separators=(",", ":")).encode())
            self._headers = {kid: segment}  # one entry: the active key (a rotation replaces it)
        return segment

    def issue(
        self,
        *,
        session_id: str,
        applicant_id: str,
        loan_application_id: str,
        amount_value: str | Decimal,
        currency: str,
        payout_account: str,
        factors: Collection[Factor | str],
        pad_ran: bool,
        key_thumbprint: str = "",
        now: datetime | None = None,
        ttl_s: int | None = None,
        phone_change: str = "",
        liveness_evidence: Collection[str] | None = None,
    ) -> IssuedToken:
        """Sign a token for one loan application.

        Raises ``InvalidArgument`` for a malformed input (reason codes ``session_id_invalid``,
        ``applicant_id_invalid``, ``loan_application_id_invalid``, ``amount_invalid``, ``currency_invalid``,
        ``payout_account_invalid``, ``key_thumbprint_invalid``, ``token_ttl_invalid``) and ``FailedPrecondition``
        (``no_factor_passed``) when no identifying factor passed.
        """
        at = now or self._clock.now()
        if at.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        lifetime = self._ttl_s if ttl_s is None else ttl_s
        if not 0 < lifetime <= self._max_ttl_s:
            raise InvalidArgument("token_ttl_invalid", f"token lifetime must be 1..{self._max_ttl_s} s")
        for name, value in (
            ("session_id", session_id),
            ("applicant_id", applicant_id),
            ("loan_application_id", loan_application_id),
        ):
            if not is_identifier(value):
                raise InvalidArgument(f"{name}_invalid", f"{name} is empty, too long or has control characters")
        amount = _amount_string(amount_value)
        if not isinstance(currency, str) or not CURRENCY_PATTERN.fullmatch(currency):
            raise InvalidArgument("currency_invalid", "currency must be an ISO 4217 code such as CNY")
        account = normalise_payout_account(payout_account)
        if not account or len(account) > _MAX_PAYOUT_ACCOUNT or not account.isascii() or not account.isalnum():
            raise InvalidArgument("payout_account_invalid", "payout account must be letters and digits")
        if key_thumbprint and not DIGEST_B64_PATTERN.fullmatch(key_thumbprint):
            raise InvalidArgument("key_thumbprint_invalid", "key_thumbprint must be a base64url SHA-256 thumbprint")
        assurance = decide_assurance(factors, pad_ran=pad_ran, liveness_evidence=liveness_evidence)

        iat = int(at.timestamp())
        jti = b64url(self._random.token_bytes(16))
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": pairwise_subject(self._secret, self._sector, applicant_id),
            "aud": self._audience,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "jti": jti,
            "sid": session_id,
            "acr": assurance.acr,
            "amr": list(assurance.amr),
            "authorization_details": [
                {
                    "type": AUTHORIZATION_DETAILS_TYPE,
                    "loan_application_id": loan_application_id,
                    "amount": {"value": amount, "currency": currency},
                    "payout_account_hash": payout_account_hash(jti, account),
                }
            ],
        }
        if key_thumbprint:
            claims["cnf"] = {"jkt": key_thumbprint}
        if liveness_evidence is not None:
            # What the passed liveness rested on (docs/liveness.md, section 7): "continuity", "light",
            # "capture_key", "attestation", "pad".
            claims["liveness"] = sorted(set(liveness_evidence))
        if phone_change:
            # A recent SIM swap or port of the applicant's phone, and who reported it ("lender", "carrier:<name>"):
            # the loan service may weigh an SMS code from that phone accordingly.
            if not is_identifier(phone_change):
                raise InvalidArgument("phone_change_invalid", "phone_change must be a printable identifier")
            claims["phone_change"] = {"recent": True, "source": phone_change}
        key = self.key_ring.active
        assert key.private_key is not None  # the ring guarantees the active key can sign
        # JWS compact serialisation (RFC 7515 section 7.1) written out: BASE64URL(header) "." BASE64URL(payload),
        # signed with Ed25519. The header segment is the same for every token of a key, so it is made once.
        # joserfc produces the same bytes (tests check that joserfc and PyJWT verify these tokens); going through
        # it cost about 20 us per token in its registry and key checks, most of the budget of a 1.3x-of-raw-sign
        # target (bench/bench_tokens.py). orjson writes the same compact UTF-8 JSON as json.dumps(separators=(",",
        # ":"), ensure_ascii=False), in a twentieth of the time.
        signing_input = self._header_segment(key.kid) + b"." + b64url_bytes(orjson.dumps(claims))
        token = (signing_input + b"." + b64url_bytes(key.private_key.sign(signing_input))).decode("ascii")
        issued_at = datetime.fromtimestamp(iat, at.tzinfo)
        return IssuedToken(token, jti, issued_at, issued_at + timedelta(seconds=lifetime), key.kid)


def _amount_string(value: str | Decimal) -> str:
    """The canonical decimal string of a positive amount, at most 4 decimals. Raises ``InvalidArgument``."""
    try:
        # floats cannot represent money exactly: refused like any other non-decimal input
        amount = value if isinstance(value, Decimal) else Decimal(value if isinstance(value, str) else "NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    text = format(amount, "f") if amount.is_finite() else ""
    if not AMOUNT_PATTERN.fullmatch(text) or amount <= 0:
        raise InvalidArgument("amount_invalid", "amount must be a positive decimal with at most 4 decimals")
    return text
