"""Verify an idverify token: signature and claims in one call, one error type for every refusal.

Usage in a loan service::

    verifier = TokenVerifier("http://idverify.internal:9464/.well-known/jwks.json",
                             issuer="idverify", audience="loan-service")
    verified = verifier.verify(token, expected=ExpectedBinding("LA-1", Decimal("12000.00"), "CNY", account))

``verify`` raises ``InvalidToken`` with a coarse ``reason`` for callers (``token_invalid``, ``token_expired``,
``token_not_yet_valid``, ``token_binding_mismatch``) and an exact ``internal_reason`` for logs. Neither ever
contains the token or any claim value. Checking a token does not redeem it: single use is enforced by the
issuing service when the token is redeemed.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn, Protocol

from cryptography.exceptions import InvalidSignature
from joserfc.errors import JoseError

from idverify_client.claims import (
    ACCEPTED_TYPES,
    ALGORITHM,
    AMOUNT_PATTERN,
    AUTHORIZATION_DETAILS_TYPE,
    CURRENCY_PATTERN,
    DIGEST_B64_PATTERN,
    HEADER_MEMBERS,
    KID_PATTERN,
    LIVENESS_EVIDENCE,
    MAX_LIFETIME_S,
    MAX_TOKEN_BYTES,
    OPTIONAL_CLAIMS,
    REQUIRED_CLAIMS,
    b64url,
    is_identifier,
    payout_account_hash,
)
from idverify_client.errors import InvalidToken
from idverify_client.jose import EDDSA
from idverify_client.jwks import JwksSource, jwks_source


class Clock(Protocol):
    """The source of the current time (timezone-aware UTC); inject a fixed one in tests."""

    def now(self) -> datetime: ...


class SystemClock:
    """``datetime.now(UTC)``."""

    def now(self) -> datetime:
        return datetime.now(UTC)


#: Three base64url segments: one match instead of three.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_NUMERIC_DATE_MAX = 1 << 40
_MAX_STR = 256
_MAX_LIST = 16
_MAX_HEADER_SEGMENT = 512
_HEADER_CACHE_SIZE = 64

CODE_INVALID = "token_invalid"
CODE_EXPIRED = "token_expired"
CODE_NOT_YET_VALID = "token_not_yet_valid"
CODE_BINDING_MISMATCH = "token_binding_mismatch"

_MESSAGES = {
    CODE_INVALID: "the verification token was refused",
    CODE_EXPIRED: "the verification token has expired",
    CODE_NOT_YET_VALID: "the verification token is not valid yet",
    CODE_BINDING_MISMATCH: "the verification token was issued for another loan, amount or payout account",
}


@dataclass(frozen=True)
class ExpectedBinding:
    """What the relying party is about to do; the token must have been issued for exactly this.

    ``amount`` compares as a number (``Decimal("12000")`` equals ``"12000.00"``); floats are refused because they
    cannot represent money exactly. ``payout_account`` is compared through ``payout_account_hash``.
    """

    loan_application_id: str
    amount: Decimal | str
    currency: str
    payout_account: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal | str):
            raise TypeError("amount must be a Decimal or a decimal string")


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of a token whose signature and claims all checked out."""

    jti: str
    kid: str
    issuer: str
    subject: str
    audience: tuple[str, ...]
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    session_id: str
    acr: str
    amr: tuple[str, ...]
    loan_application_id: str
    amount: Decimal
    currency: str
    payout_account_hash: str
    holder_key_thumbprint: str | None
    claims: Mapping[str, Any] = field(repr=False, compare=False)
    #: Who reported a recent SIM swap or port of the applicant's phone ("lender", "carrier:<adapter>"), if anyone.
    phone_change_source: str | None = None
    #: What a passed liveness rested on ("continuity", "light", "capture_key", "attestation", "pad"); empty when
    #: the token has no liveness claim.
    liveness_evidence: tuple[str, ...] = ()


def _refuse(reason: str, code: str = CODE_INVALID) -> NoReturn:
    raise InvalidToken(code, _MESSAGES[code], internal_reason=reason)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result


def _no_constants(name: str) -> NoReturn:
    raise ValueError("non-finite number")


def _b64decode(segment: str) -> bytes:
    if len(segment) % 4 == 1:
        raise ValueError("impossible base64 length")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


#: One decoder for every token (json.loads with hooks builds a new one per call, about 1 us).
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def _json_object(segment: str) -> dict[str, Any]:
    value = _DECODER.decode(_b64decode(segment).decode("utf-8"))
    if not isinstance(value, dict):
        raise TypeError("not an object")
    return value


class TokenVerifier:
    """Checks idverify tokens for one issuer and one relying party (``audience``; several names allowed)."""

    def __init__(
        self,
        jwks_source_or_spec: JwksSource | Mapping[str, Any] | str | Path,
        issuer: str,
        audience: str | Collection[str],
        leeway_s: int = 30,
        *,
        clock: Clock | None = None,
        max_lifetime_s: int = MAX_LIFETIME_S,
    ) -> None:
        if not issuer:
            raise ValueError("issuer is required")
        audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not audiences or not all(audiences):
            raise ValueError("audience is required")
        if not 0 <= leeway_s <= 300:
            raise ValueError("leeway_s must be between 0 and 300")
        self._source = jwks_source(jwks_source_or_spec)
        self._issuer = issuer
        self._audiences = audiences
        self._leeway = leeway_s
        self._clock = clock or SystemClock()
        self._max_lifetime = max_lifetime_s
        self._good_headers: dict[str, str] = {}
        self._checked_key: tuple[Any, Any] | None = None

    def verify(
        self, token: str, *, now: datetime | None = None, expected: ExpectedBinding | None = None
    ) -> VerifiedToken:
        """Check signature, header, every claim and, when ``expected`` is given, the loan binding.

        Raises ``InvalidToken`` (code ``token_invalid``, ``token_expired``, ``token_not_yet_valid`` or
        ``token_binding_mismatch``) and nothing else.
        """
        at = now or self._clock.now()
        if at.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        kid, payload_segment = self._check_signature(token, at)
        try:
            claims = _json_object(payload_segment)
        except (ValueError, TypeError, RecursionError):
            _refuse("payload_not_json_object")
        verified = self._check_claims(claims, kid, at)
        if expected is not None:
            _check_binding(verified, expected)
        return verified

    def _check_signature(self, token: str, at: datetime) -> tuple[str, str]:
        if not isinstance(token, str):
            _refuse("not_a_string")
        if len(token) > MAX_TOKEN_BYTES:
            _refuse("oversized")
        if _COMPACT.fullmatch(token) is None:
            _refuse("not_compact_jws")
        header_segment, payload_segment, signature_segment = token.split(".")
        kid = self._header_kid(header_segment)
        # Only one of the four encodings of the last character is canonical; refuse the other three so a token
        # has exactly one spelling.
        try:
            signature = _b64decode(signature_segment)
        except ValueError:
            _refuse("signature_malformed")
        if len(signature) != 64 or b64url(signature) != signature_segment:
            _refuse("signature_malformed")
        key = self._source.public_key(kid, at)
        if key is None:
            fetch_error = getattr(self._source, "last_error", None)
            if isinstance(fetch_error, str):
                raise InvalidToken(CODE_INVALID, f"no key to check it: the JWKS could not be fetched: {fetch_error}",
                                   internal_reason="jwks_unavailable")
            _refuse("unknown_kid")
        signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        try:
            ok = self._raw_verify(key, signing_input, signature)
        except JoseError:  # a key that joserfc refuses is a refusal, never a crash
            ok = False
        if not ok:
            _refuse("bad_signature")
        return kid, payload_segment

    def _raw_verify(self, key: Any, signing_input: bytes, signature: bytes) -> bool:
        """EDDSA.verify with the key check done once per key object (a source hands out the same object while
        the key set is unchanged), then cryptography's Ed25519 verify directly."""
        cached = self._checked_key
        if cached is None or cached[0] is not key:
            EDDSA.check_key(key)  # raises JoseError for anything but an OKP Ed25519 key
            cached = (key, key.public_key)
            self._checked_key = cached
        try:
            cached[1].verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True

    def _header_kid(self, header_segment: str) -> str:
        """The kid of a well-formed header; refuses anything else. Headers already found well-formed are
        remembered (bounded), since a deployment sees one header spelling per signing key."""
        kid = self._good_headers.get(header_segment)
        if kid is not None:
            return kid
        if len(header_segment) > _MAX_HEADER_SEGMENT:
            _refuse("header_oversized")
        try:
            header = _json_object(header_segment)
        except (ValueError, TypeError, RecursionError):
            _refuse("header_not_json_object")
        if header.keys() != HEADER_MEMBERS:
            _refuse("header_members")
        if header["alg"] != ALGORITHM:
            _refuse("alg_not_allowed")
        typ = header["typ"]
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            _refuse("wrong_typ")
        kid = header["kid"]
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            _refuse("kid_malformed")
        if len(self._good_headers) >= _HEADER_CACHE_SIZE:
            self._good_headers.clear()
        self._good_headers[header_segment] = kid
        return kid

    def _check_claims(self, claims: dict[str, Any], kid: str, at: datetime) -> VerifiedToken:
        names = claims.keys()
        if not names >= REQUIRED_CLAIMS:
            _refuse("missing_claim")
        if not names <= REQUIRED_CLAIMS | OPTIONAL_CLAIMS:
            _refuse("unexpected_claim")
        iss = _text(claims, "iss")
        sub = _text(claims, "sub")
        jti = _text(claims, "jti")
        sid = _text(claims, "sid")
        acr = _text(claims, "acr")
        aud = _text_list(claims, "aud")
        amr = _text_list(claims, "amr")
        iat = _numeric_date(claims, "iat")
        nbf = _numeric_date(claims, "nbf")
        exp = _numeric_date(claims, "exp")
        if iss != self._issuer:
            _refuse("wrong_iss")
        if self._audiences.isdisjoint(aud):
            _refuse("wrong_aud")
        if not (iat <= nbf < exp and exp - iat <= self._max_lifetime):
            _refuse("lifetime_out_of_range")
        now_s = at.timestamp()
        if now_s >= exp + self._leeway:
            _refuse("expired", CODE_EXPIRED)
        if nbf > now_s + self._leeway:
            _refuse("nbf_in_future", CODE_NOT_YET_VALID)
        if not amr:
            _refuse("amr_empty")
        loan_id, amount, currency, account_hash = _authorization_details(claims)
        return VerifiedToken(
            jti=jti,
            kid=kid,
            issuer=iss,
            subject=sub,
            audience=tuple(aud),
            issued_at=datetime.fromtimestamp(iat, UTC),
            not_before=datetime.fromtimestamp(nbf, UTC),
            expires_at=datetime.fromtimestamp(exp, UTC),
            session_id=sid,
            acr=acr,
            amr=tuple(amr),
            loan_application_id=loan_id,
            amount=amount,
            currency=currency,
            payout_account_hash=account_hash,
            holder_key_thumbprint=_holder_jkt(claims),
            claims=claims,
            phone_change_source=_phone_change(claims),
            liveness_evidence=_liveness(claims),
        )


def _text(claims: Mapping[str, Any], name: str, limit: int = _MAX_STR) -> str:
    value = claims[name]
    if type(value) is not str or not 0 < len(value) <= limit:
        _refuse(f"claim_{name}_malformed")
    return value


def _text_list(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims[name]
    if type(value) is not list or len(value) > _MAX_LIST:
        _refuse(f"claim_{name}_malformed")
    for item in value:
        if type(item) is not str or not 0 < len(item) <= _MAX_STR:
            _refuse(f"claim_{name}_malformed")
    return value


def _numeric_date(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if type(value) is not int or not 0 < value < _NUMERIC_DATE_MAX:
        _refuse(f"claim_{name}_malformed")
    return value


def _liveness(claims: Mapping[str, Any]) -> tuple[str, ...]:
    if "liveness" not in claims:
        return ()
    evidence = claims["liveness"]
    if (not isinstance(evidence, list) or not all(type(e) is str and e in LIVENESS_EVIDENCE for e in evidence)
            or evidence != sorted(set(evidence))):
        _refuse("claim_liveness_malformed")
    return tuple(evidence)


def _phone_change(claims: Mapping[str, Any]) -> str | None:
    if "phone_change" not in claims:
        return None
    change = claims["phone_change"]
    if (not isinstance(change, dict) or change.keys() != {"recent", "source"} or change["recent"] is not True
            or type(change["source"]) is not str or not 0 < len(change["source"]) <= _MAX_STR):
        _refuse("claim_phone_change_malformed")
    return str(change["source"])


def _holder_jkt(claims: Mapping[str, Any]) -> str | None:
    if "cnf" not in claims:
        return None
    cnf = claims["cnf"]
    if not isinstance(cnf, dict) or cnf.keys() != {"jkt"}:
        _refuse("claim_cnf_malformed")
    if not isinstance(cnf["jkt"], str) or not DIGEST_B64_PATTERN.fullmatch(cnf["jkt"]):
        _refuse("claim_cnf_malformed")
    return str(cnf["jkt"])


def _authorization_details(claims: Mapping[str, Any]) -> tuple[str, Decimal, str, str]:
    details = claims["authorization_details"]
    if not isinstance(details, list) or len(details) != 1 or not isinstance(details[0], dict):
        _refuse("claim_authorization_details_malformed")
    detail = details[0]
    if detail.keys() != {"type", "loan_application_id", "amount", "payout_account_hash"}:
        _refuse("claim_authorization_details_malformed")
    if detail["type"] != AUTHORIZATION_DETAILS_TYPE:
        _refuse("authorization_details_type")
    loan_id, account_hash, amount = (
        detail["loan_application_id"],
        detail["payout_account_hash"],
        detail["amount"],
    )
    if not is_identifier(loan_id):
        _refuse("claim_loan_application_id_malformed")
    if not isinstance(account_hash, str) or not DIGEST_B64_PATTERN.fullmatch(account_hash):
        _refuse("claim_payout_account_hash_malformed")
    if not isinstance(amount, dict) or amount.keys() != {"value", "currency"}:
        _refuse("claim_amount_malformed")
    value, currency = amount["value"], amount["currency"]
    if not isinstance(value, str) or not AMOUNT_PATTERN.fullmatch(value):
        _refuse("claim_amount_malformed")
    if not isinstance(currency, str) or not CURRENCY_PATTERN.fullmatch(currency):
        _refuse("claim_currency_malformed")
    return loan_id, Decimal(value), currency, account_hash


def _check_binding(verified: VerifiedToken, expected: ExpectedBinding) -> None:
    if verified.loan_application_id != expected.loan_application_id:
        _refuse("binding_loan_application_id", CODE_BINDING_MISMATCH)
    try:
        amount = Decimal(expected.amount)
    except InvalidOperation:
        _refuse("binding_amount", CODE_BINDING_MISMATCH)
    if not amount.is_finite() or amount != verified.amount:
        _refuse("binding_amount", CODE_BINDING_MISMATCH)
    if verified.currency != expected.currency:
        _refuse("binding_currency", CODE_BINDING_MISMATCH)
    try:
        account_hash = payout_account_hash(verified.jti, expected.payout_account)
    except ValueError:
        _refuse("binding_payout_account", CODE_BINDING_MISMATCH)
    if account_hash != verified.payout_account_hash:
        _refuse("binding_payout_account", CODE_BINDING_MISMATCH)
