"""The wire format of an idverify verification token, shared by the issuer and every verifier.

A token is a compact JWS (RFC 7515) over a JSON claims set (RFC 7519), signed with Ed25519.

Header, exactly these three members and nothing else::

    {"alg": "EdDSA", "kid": "<RFC 7638 thumbprint of the signing key>", "typ": "idverify-vt+jwt"}

``alg`` is ``"EdDSA"`` (RFC 8037), not the fully specified ``"Ed25519"`` of RFC 9864: most JOSE libraries in other
languages still only know ``"EdDSA"``. Verifiers pin the key to OKP/Ed25519, so the curve ambiguity that RFC 9864
removes cannot arise here. ``typ`` is the media type ``application/idverify-vt+jwt`` with the ``application/``
prefix left out, as RFC 7515 section 4.1.9 recommends; explicit typing (RFC 8725 section 3.11) stops any other JWT
signed by the same key from being accepted as a verification token.

Claims (all required unless marked optional):

``iss`` issuer URL; ``sub`` pairwise applicant id (see ``idverify.tokens.issuer.pairwise_subject``); ``aud`` list of
relying parties; ``iat``/``nbf``/``exp`` integer NumericDates; ``jti`` 128 random bits, base64url; ``sid`` the
verification session id; ``acr`` assurance level (``idverify.tokens.assurance``); ``amr`` RFC 8176 method values plus
the private value ``"doc"`` (identity document checked); ``authorization_details`` a one-element RFC 9396 list::

    [{"type": "loan_application", "loan_application_id": "...",
      "amount": {"value": "12000.00", "currency": "CNY"}, "payout_account_hash": "..."}]

``cnf`` (optional) ``{"jkt": "<RFC 7638 thumbprint of the holder's key>"}`` (RFC 7800 / RFC 9449 style); when a
registered device key proved the verification (``amr`` holds ``hwk``) it is that key's thumbprint.
``liveness`` (optional) the evidence a passed liveness rested on, sorted, each one of ``LIVENESS_EVIDENCE``
(``"continuity"``, ``"light"``, ``"capture_key"``, ``"attestation"``, ``"pad"``).
``phone_change`` (optional) ``{"recent": true, "source": "lender" | "carrier:<adapter>"}``: the applicant's phone was
recently swapped or ported, as reported by the lender or a carrier lookup.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from typing import Final

ALGORITHM: Final = "EdDSA"
MEDIA_TYPE: Final = "idverify-vt+jwt"
#: ``typ`` values accepted on input (media types compare case-insensitively).
ACCEPTED_TYPES: Final = frozenset({MEDIA_TYPE, "application/" + MEDIA_TYPE})
HEADER_MEMBERS: Final = frozenset({"alg", "kid", "typ"})
AUTHORIZATION_DETAILS_TYPE: Final = "loan_application"

#: Refused before any parsing. Our tokens are about 900 bytes.
MAX_TOKEN_BYTES: Final = 8 * 1024
#: The longest lifetime (exp - iat) any verifier accepts, and the cap the issuer enforces.
MAX_LIFETIME_S: Final = 3600

REQUIRED_CLAIMS: Final = frozenset(
    {"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid", "acr", "amr", "authorization_details"}
)
OPTIONAL_CLAIMS: Final = frozenset({"cnf", "phone_change", "liveness"})
#: What a passed liveness may have rested on (``liveness`` claim, idverify's docs/liveness.md).
LIVENESS_EVIDENCE: Final = frozenset({"continuity", "light", "capture_key", "attestation", "pad"})

#: kid: base64url characters only, so it can never be a path, a URL or a log-injection vector.
KID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
AMOUNT_PATTERN: Final = re.compile(r"(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,4})?")
CURRENCY_PATTERN: Final = re.compile(r"[A-Z]{3}")
#: base64url of 32 bytes (SHA-256 digests, RFC 7638 thumbprints, pairwise subjects).
DIGEST_B64_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_IDENTIFIER_LENGTH: Final = 128


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def normalise_payout_account(account: str) -> str:
    """The canonical form of a payout account number: whitespace and hyphens removed, letters upper-cased.

    ``"gb82 west-1234 5698 7654 32"`` and ``"GB82WEST12345698765432"`` are the same account.
    """
    return "".join(account.split()).replace("-", "").upper()


def payout_account_hash(jti: str, account: str) -> str:
    """``base64url(SHA-256(jti + ":" + normalise_payout_account(account)))``, recomputable by any relying party.

    Salting with the token's ``jti`` keeps the hash from becoming a stable identifier of the account across tokens.
    It is not a secret: someone holding the token and guessing account numbers can test guesses offline, so the
    token must be handled as the confidential document it is.

    Raises ``ValueError`` for an account that is empty once normalised.
    """
    normalised = normalise_payout_account(account)
    if not normalised:
        raise ValueError("payout account is empty")
    return b64url(hashlib.sha256(f"{jti}:{normalised}".encode()).digest())


#: The common case of :func:`is_identifier`, decided without a per-character loop: printable ASCII, no leading or
#: trailing space.
_ASCII_IDENTIFIER: Final = re.compile(r"[!-~](?:[ -~]{0,126}[!-~])?")


def is_identifier(value: object) -> bool:
    """An identifier chosen by the lender or the service (loan application, applicant, session): a non-empty string
    of at most 128 characters, no control, format or separator characters other than inner spaces (the same rule as
    ``idverify.domain.values.clean_identifier``)."""
    if isinstance(value, str) and value.isascii():
        return _ASCII_IDENTIFIER.fullmatch(value) is not None
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_IDENTIFIER_LENGTH
        and value == value.strip()
        and not any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in value)
    )
