"""Issue verification tokens: compact JWS, Ed25519 (``alg: "EdDSA"``), format in ``idverify.client.claims``.

Library choice: joserfc does the keys (RFC 7638 thumbprints, JWK import and export, the JWKS); the compact
serialisation of a token (two base64url segments and a signature, RFC 7515 section 7.1) is written out here and
signed with cryptography's Ed25519, because going through joserfc's serialiser cost about 20 us per token in
registry and key checks (bench/results/tokens.md). Tests verify our tokens with joserfc and with PyJWT, as two
independent implementations that must accept them.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
)
from idverify.domain import ports
from idverify.domain.errors import InvalidArgument
from idverify.domain.ports import Clock, Random, SystemRandom
from idverify.domain.values import Factor
from idverify.tokens.assurance import decide_assurance
from idverify.tokens.keys import KeyRing, RingKey

if TYPE_CHECKING:
    from _hashlib import HASH

DEFAULT_TTL_S = 600
_MIN_SUBJECT_SECRET_BYTES = 32
_MAX_PAYOUT_ACCOUNT = 64
_SHA256_BLOCK = 64
#: ``is_identifier``'s rule for an ASCII string (``idverify.client.claims``: printable, no leading or trailing
#: space, at most 128 characters), written to match without backtracking (possessive run, then a look back at its
#: last character); tests/unit/tokens/test_token_bytes.py checks that the two agree.
_ASCII_IDENTIFIER: Final = r"[!-~][ -~]{0,127}+(?<! )"
#: The usual issue inputs, joined by NUL: three ASCII identifiers, an amount already in canonical form (no sign,
#: exponent, spaces or leading zeros: what ``_amount_string`` gives back unchanged), a currency, and a payout
#: account that is already letters and digits (normalising only upper-cases it). No part can match a NUL, so the
#: match splits exactly at the joins and each part must pass on its own.
_PLAIN_INPUTS: Final = re.compile(
    "\x00".join(
        (
            _ASCII_IDENTIFIER,
            _ASCII_IDENTIFIER,
            _ASCII_IDENTIFIER,
            f"(?:{AMOUNT_PATTERN.pattern})",
            f"(?:{CURRENCY_PATTERN.pattern})",
            f"[A-Za-z0-9]{{1,{_MAX_PAYOUT_ACCOUNT}}}",
        )
    )
)
#: RFC 2104 pads as translation tables: each key byte XOR 0x36 (inner) or 0x5C (outer).
_IPAD: Final = bytes(b ^ 0x36 for b in range(256))
_OPAD: Final = bytes(b ^ 0x5C for b in range(256))


@dataclass(frozen=True, slots=True, repr=False)
class IssuedToken(ports.IssuedToken):
    """A signed token and what the service records about it. ``repr`` never shows the token."""

    kid: str

    def __repr__(self) -> str:
        return f"IssuedToken(jti={self.jti!r}, kid={self.kid!r}, expires_at={self.expires_at!r})"


#: Standard to URL-safe base64 alphabet (RFC 4648 section 5), for ``binascii.b2a_base64`` output.
_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_b2a = binascii.b2a_base64


def b64url_bytes(data: bytes) -> bytes:
    """base64url without padding, as bytes (RFC 7515 section 2)."""
    return _b2a(data).translate(_URLSAFE).rstrip(b"=\n")


def _subject_message_prefix(sector: str) -> bytes:
    return f"idverify-sub-v1\x00{sector}\x00".encode()


def pairwise_subject(secret: bytes, sector: str, applicant_id: str) -> str:
    """``base64url(HMAC-SHA256(secret, "idverify-sub-v1" NUL sector NUL applicant_id))``.

    The same applicant gets the same ``sub`` within a sector (a lender) and unrelated ones across sectors; without
    the secret nobody can go from ``sub`` back to the applicant id. Never derived from a national ID or phone.
    """
    return b64url(hmac.digest(secret, _subject_message_prefix(sector) + applicant_id.encode(), "sha256"))


def _subject_hmac(secret: bytes, sector: str) -> tuple[HASH, HASH]:
    """The two SHA-256 states of ``pairwise_subject``'s HMAC for one secret and sector, with the key schedule
    done (RFC 2104): the inner one has absorbed ``(K xor ipad) || "idverify-sub-v1" NUL sector NUL``, the outer one
    ``K xor opad``. A subject is then ``outer.copy()`` fed ``inner.copy()`` fed the applicant id: the same bytes as
    ``pairwise_subject``, in about a third of the time of ``hmac.digest``."""
    key = hashlib.sha256(secret).digest() if len(secret) > _SHA256_BLOCK else secret
    key = key.ljust(_SHA256_BLOCK, b"\x00")
    inner = hashlib.sha256(key.translate(_IPAD))
    inner.update(_subject_message_prefix(sector))
    return inner, hashlib.sha256(key.translate(_OPAD))


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
        self._subject_inner, self._subject_outer = _subject_hmac(subject_secret, self._sector)
        self._clock = clock
        # SystemRandom.token_bytes is secrets.token_bytes, which is os.urandom behind two Python frames.
        self._token_bytes = os.urandom if type(random) is SystemRandom else random.token_bytes
        self._ttl_s = ttl_s
        self._ttl = timedelta(seconds=ttl_s)
        self._max_ttl_s = max_ttl_s
        self._signer = _signer(key_ring.active)

    def __repr__(self) -> str:
        return f"JwsTokenIssuer(issuer={self._issuer!r}, audience={self._audience!r}, ttl_s={self._ttl_s})"

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
        if ttl_s is None:
            lifetime, ttl = self._ttl_s, self._ttl
        elif 0 < ttl_s <= self._max_ttl_s:
            lifetime, ttl = ttl_s, timedelta(seconds=ttl_s)
        else:
            raise InvalidArgument("token_ttl_invalid", f"token lifetime must be 1..{self._max_ttl_s} s")
        # The common case checked by one regex over the inputs joined by NUL (see _PLAIN_INPUTS): it passes only
        # where each check below would pass, and gives the same amount and account as they would.
        parts: tuple[Any, ...] = (session_id, applicant_id, loan_application_id, amount_value, currency, payout_account)
        try:
            plain = "\x00".join(parts)
        except TypeError:  # not all strings (a Decimal amount, or a malformed input)
            plain = ""
        if (plain.isascii() and _PLAIN_INPUTS.fullmatch(plain) and isinstance(amount_value, str)
                and amount_value.strip("0.")):  # not all zeros, so positive
            amount, account = amount_value, payout_account.upper()
        else:
            amount, account = _checked_inputs(
                session_id=session_id, applicant_id=applicant_id, loan_application_id=loan_application_id,
                amount_value=amount_value, currency=currency, payout_account=payout_account,
            )
        if key_thumbprint and not DIGEST_B64_PATTERN.fullmatch(key_thumbprint):
            raise InvalidArgument("key_thumbprint_invalid", "key_thumbprint must be a base64url SHA-256 thumbprint")
        assurance = decide_assurance(factors, pad_ran=pad_ran, liveness_evidence=liveness_evidence)

        iat = int(at.timestamp())
        jti = _b2a(self._token_bytes(16)).translate(_URLSAFE).rstrip(b"=\n").decode()
        inner = self._subject_inner.copy()
        inner.update(applicant_id.encode())
        outer = self._subject_outer.copy()
        outer.update(inner.digest())
        # payout_account_hash(jti, account) of idverify.client.claims, without normalising a second time: the
        # account is already normalised, and checked to be ASCII letters and digits.
        account_hash = _b2a(hashlib.sha256(f"{jti}:{account}".encode()).digest())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": _b2a(outer.digest()).translate(_URLSAFE).rstrip(b"=\n").decode(),
            "aud": self._audience,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "jti": jti,
            "sid": session_id,
            "acr": assurance.acr,
            "amr": assurance.amr,  # a tuple: orjson writes it as the same JSON array as a list
            "authorization_details": [
                {
                    "type": AUTHORIZATION_DETAILS_TYPE,
                    "loan_application_id": loan_application_id,
                    "amount": {"value": amount, "currency": currency},
                    "payout_account_hash": account_hash.translate(_URLSAFE).rstrip(b"=\n").decode(),
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
        signer = self._signer  # read once: another thread may replace it after a rotation
        if signer[0] is not key:
            signer = self._signer = _signer(key)
        _, header, private_key = signer
        # JWS compact serialisation (RFC 7515 section 7.1) written out: BASE64URL(header) "." BASE64URL(payload),
        # signed with Ed25519. The header segment is the same for every token of a key, so it is made once.
        # joserfc produces the same bytes (tests check that joserfc and PyJWT verify these tokens); going through
        # it cost about 20 us per token in its registry and key checks, most of the budget of a 1.3x-of-raw-sign
        # target (bench/bench_tokens.py). orjson writes the same compact UTF-8 JSON as json.dumps(separators=(",",
        # ":"), ensure_ascii=False), in a twentieth of the time.
        payload = _b2a(orjson.dumps(claims)).replace(b"+", b"-").replace(b"/", b"_").rstrip(b"=\n")
        signing_input = header + payload
        signature = _b2a(private_key.sign(signing_input)).translate(_URLSAFE).rstrip(b"=\n")
        token = b".".join((signing_input, signature)).decode()
        issued_at = datetime.fromtimestamp(iat, at.tzinfo)
        return _issued_token(token, jti, issued_at, issued_at + ttl, key.kid)


def _signer(key: RingKey) -> tuple[RingKey, bytes, Ed25519PrivateKey]:
    """What signing with ``key`` (the ring's active key) needs, in one tuple so that it is replaced at once: the key,
    the header segment of its tokens (``BASE64URL(header) "."``, the same for every token of the key, so made
    once) and its private half."""
    assert key.private_key is not None  # the ring guarantees the active key can sign
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": MEDIA_TYPE}
    return key, b64url_bytes(json.dumps(header, separators=(",", ":")).encode()) + b".", key.private_key


# IssuedToken(...) without the generated frozen-dataclass __init__ (an object.__setattr__ call looked up per
# field): the slots are set through their descriptors. Same object; half the time.
_set_token = ports.IssuedToken.__dict__["token"].__set__
_set_jti = ports.IssuedToken.__dict__["jti"].__set__
_set_issued_at = ports.IssuedToken.__dict__["issued_at"].__set__
_set_expires_at = ports.IssuedToken.__dict__["expires_at"].__set__
_set_kid = IssuedToken.__dict__["kid"].__set__


def _issued_token(token: str, jti: str, issued_at: datetime, expires_at: datetime, kid: str) -> IssuedToken:
    issued = object.__new__(IssuedToken)
    _set_token(issued, token)
    _set_jti(issued, jti)
    _set_issued_at(issued, issued_at)
    _set_expires_at(issued, expires_at)
    _set_kid(issued, kid)
    return issued


def _checked_inputs(
    *,
    session_id: str,
    applicant_id: str,
    loan_application_id: str,
    amount_value: str | Decimal,
    currency: str,
    payout_account: str,
) -> tuple[str, str]:
    """Each input checked on its own, in this order: the canonical amount and the normalised payout account.
    Raises ``InvalidArgument`` with the first failing input's reason code."""
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
    return amount, account


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
