"""Every way a token must be refused. Each test targets one check: forged tokens carry a valid signature unless the
signature is what is under test, so removing the check makes the test fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from idverify.client.verifier import ExpectedBinding, TokenVerifier, VerifiedToken
from idverify.domain.errors import InvalidToken
from idverify.tokens.issuer import IssuedToken
from idverify.tokens.keys import KeyRing
from tests.fakes import FixedClock, SeededRandom
from tests.unit.tokens.conftest import AUDIENCE, ISSUER, LOAN, Forge, b64, b64json

DUPLICATE_ALG = b'{"alg":"EdDSA","alg":"none"}'
Claims = dict[str, Any]
GOOD_BINDING = ExpectedBinding("LA-2026-0001", Decimal(12000), "CNY", "6222021234567890")


def refused(verifier: TokenVerifier, token: Any, code: str, reason: str, **kwargs: Any) -> None:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token, **kwargs)
    assert (caught.value.code, caught.value.internal_reason) == (code, reason)
    assert not isinstance(token, str) or len(token) < 8 or token not in str(caught.value)


class SpySource:
    """A key source that records which kids it was asked for."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.asked: list[str] = []

    def public_key(self, kid: str, now: datetime) -> OKPKey | None:
        self.asked.append(kid)
        return self.ring.public_key(kid, now)


def test_a_genuine_token_with_its_binding_verifies(
    verifier: TokenVerifier, issue: Callable[..., IssuedToken]
) -> None:
    issued = issue()
    verified = verifier.verify(issued.token, expected=GOOD_BINDING)
    assert isinstance(verified, VerifiedToken)
    assert (verified.jti, verified.kid, verified.amount) == (issued.jti, issued.kid, Decimal("12000.00"))


def test_the_forger_produces_tokens_that_verify(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    """The refusal tests below rely on this: a forged token with unchanged claims is accepted."""
    assert verifier.verify(forge(good_claims)).jti == good_claims["jti"]


# --- algorithms ------------------------------------------------------------------------------------------------


def test_alg_none_with_an_empty_signature_is_refused(
    verifier: TokenVerifier, ring: KeyRing, good_claims: Claims
) -> None:
    header = {"alg": "none", "kid": ring.active.kid, "typ": "idverify-vt+jwt"}
    token = f"{b64json(header)}.{b64json(good_claims)}."
    refused(verifier, token, "token_invalid", "not_compact_jws")


def test_alg_none_with_any_signature_is_refused(verifier: TokenVerifier, ring: KeyRing, good_claims: Claims) -> None:
    header = {"alg": "none", "kid": ring.active.kid, "typ": "idverify-vt+jwt"}
    refused(verifier, f"{b64json(header)}.{b64json(good_claims)}.{b64(bytes(64))}", "token_invalid", "alg_not_allowed")


@pytest.mark.parametrize("secret_form", ["raw", "pem", "jwk_x"])
def test_hs256_signed_with_the_public_key_as_secret_is_refused(
    verifier: TokenVerifier, ring: KeyRing, good_claims: Claims, secret_form: str
) -> None:
    public = ring.active.public_key
    secret = {
        "raw": public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "jwk_x": ring.jwks(datetime.now().astimezone())["keys"][0]["x"].encode(),
    }[secret_form]
    header = {"alg": "HS256", "kid": ring.active.kid, "typ": "idverify-vt+jwt"}
    signing_input = f"{b64json(header)}.{b64json(good_claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    # Pad the MAC to 64 bytes so only the alg check stands between it and the key lookup.
    refused(verifier, f"{signing_input}.{b64(mac + mac)}", "token_invalid", "alg_not_allowed")


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "Ed25519", "eddsa"])
def test_other_algorithms_are_refused(verifier: TokenVerifier, ring: KeyRing, good_claims: Claims, alg: str) -> None:
    key: Any
    if alg in ("RS256", "PS256"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = None
    headers = {"kid": ring.active.kid, "typ": "idverify-vt+jwt"}
    if key is not None:
        token = jwt.encode(good_claims, key, algorithm=alg, headers=headers)
    else:  # same Ed25519 key, other alg names
        signing_input = f"{b64json({'alg': alg, **headers})}.{b64json(good_claims)}"
        assert ring.active.private_key is not None
        token = f"{signing_input}.{b64(ring.active.private_key.sign(signing_input.encode()))}"
    refused(verifier, token, "token_invalid", "alg_not_allowed")


# --- kid and keys ----------------------------------------------------------------------------------------------


def test_unknown_kid_is_refused(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    header = {"alg": "EdDSA", "kid": "A" * 43, "typ": "idverify-vt+jwt"}
    refused(verifier, forge(good_claims, header), "token_invalid", "unknown_kid")


@pytest.mark.parametrize("kid", ["../../etc/passwd", "a/b", "k" * 65, "", "kid with space", "ключ", 7, None])
def test_path_like_overlong_or_non_string_kid_is_refused_without_a_key_lookup(
    ring: KeyRing, forge: Forge, good_claims: Claims, kid: Any
) -> None:
    spy = SpySource(ring)
    verifier = TokenVerifier(spy, ISSUER, AUDIENCE)
    header = {"alg": "EdDSA", "kid": kid, "typ": "idverify-vt+jwt"}
    refused(verifier, forge(good_claims, header), "token_invalid", "kid_malformed", now=FixedClock().now())
    assert spy.asked == []


def test_a_token_signed_by_another_key_under_our_kid_is_refused(
    verifier: TokenVerifier, forge: Forge, good_claims: Claims
) -> None:
    refused(verifier, forge(good_claims, key=Ed25519PrivateKey.generate()), "token_invalid", "bad_signature")


def test_a_retired_key_verifies_during_its_grace_and_is_refused_after(
    clock: FixedClock, rnd: SeededRandom, ring: KeyRing, forge: Forge, good_claims: Claims
) -> None:
    old = ring.active
    assert old.private_key is not None
    clock.advance(3600)
    rotated = ring.rotated(clock.now(), rnd)
    verifier = TokenVerifier(rotated, ISSUER, AUDIENCE)
    # A token made with the retired key (e.g. a stolen copy), fresh by its own claims at every moment checked.
    grace_end = clock.now() + timedelta(seconds=rotated.max_token_ttl_s + rotated.leeway_s)

    def fresh_at(moment: datetime) -> str:
        iat = int(moment.timestamp()) - 5
        return forge({**good_claims, "iat": iat, "nbf": iat, "exp": iat + 600}, key=old.private_key)

    last_inside = grace_end - timedelta(seconds=1)
    assert verifier.verify(fresh_at(last_inside), now=last_inside).kid == old.kid
    refused(verifier, fresh_at(grace_end), "token_invalid", "unknown_kid", now=grace_end)


# --- tampering -------------------------------------------------------------------------------------------------


def _flip(segment: str, index: int) -> str:
    replacement = "A" if segment[index] != "A" else "B"
    return segment[:index] + replacement + segment[index + 1 :]


@pytest.mark.parametrize(
    ("part", "expected_reason"),
    [(0, "header_not_json_object"), (1, "bad_signature"), (2, "bad_signature")],
)
@pytest.mark.parametrize("position", ["start", "middle"])
def test_flipping_a_character_in_any_segment_is_refused(
    verifier: TokenVerifier, issue: Callable[..., IssuedToken], part: int, expected_reason: str, position: str
) -> None:
    parts = issue().token.split(".")
    index = 0 if position == "start" else len(parts[part]) // 2
    parts[part] = _flip(parts[part], index)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(".".join(parts))
    assert caught.value.code == "token_invalid"
    if part != 0:
        assert caught.value.internal_reason == expected_reason


def test_a_header_changed_to_valid_json_breaks_the_signature(
    verifier: TokenVerifier, ring: KeyRing, issue: Callable[..., IssuedToken]
) -> None:
    parts = issue().token.split(".")
    parts[0] = b64json({"kid": ring.active.kid, "alg": "EdDSA", "typ": "idverify-vt+jwt"})  # same members, new order
    refused(verifier, ".".join(parts), "token_invalid", "bad_signature")


def test_a_non_canonical_signature_encoding_is_refused(
    verifier: TokenVerifier, issue: Callable[..., IssuedToken]
) -> None:
    """64 bytes take 86 base64url characters; the last carries 2 unused bits, so 4 spellings decode the same."""
    token = issue().token
    head, last = token[:-1], token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = alphabet[alphabet.index(last) ^ 1]
    assert base64.urlsafe_b64decode(token.split(".")[2][:-1] + same_bytes + "==") == base64.urlsafe_b64decode(
        token.split(".")[2] + "=="
    )
    refused(verifier, head + same_bytes, "token_invalid", "signature_malformed")


# --- claims ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claim", ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid", "acr", "amr", "authorization_details"]
)
def test_a_token_missing_any_required_claim_is_refused(
    verifier: TokenVerifier, forge: Forge, good_claims: Claims, claim: str
) -> None:
    del good_claims[claim]
    refused(verifier, forge(good_claims), "token_invalid", "missing_claim")


def test_an_unexpected_claim_is_refused(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    refused(verifier, forge({**good_claims, "admin": True}), "token_invalid", "unexpected_claim")


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sid", "s" * 257),
        ("sub", "x" * 1000),
        ("iss", 5),
        ("aud", ["a"] * 17),
        ("aud", "lender-a"),
        ("amr", ["x" * 300]),
        ("exp", True),
        ("exp", 1.5e9),
        ("iat", -1),
    ],
)
def test_overlong_or_mistyped_claim_values_are_refused(
    verifier: TokenVerifier, forge: Forge, good_claims: Claims, claim: str, value: Any
) -> None:
    refused(verifier, forge({**good_claims, claim: value}), "token_invalid", f"claim_{claim}_malformed")


def test_an_empty_amr_is_refused(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    refused(verifier, forge({**good_claims, "amr": []}), "token_invalid", "amr_empty")


@pytest.mark.parametrize(
    ("detail_change", "reason"),
    [
        ({"type": "payment_initiation"}, "authorization_details_type"),
        ({"loan_application_id": "LA\n1"}, "claim_loan_application_id_malformed"),
        ({"payout_account_hash": "short"}, "claim_payout_account_hash_malformed"),
        ({"amount": {"value": "1e5", "currency": "CNY"}}, "claim_amount_malformed"),
        ({"amount": {"value": "-1", "currency": "CNY"}}, "claim_amount_malformed"),
        ({"amount": {"value": "12000.00", "currency": "cny"}}, "claim_currency_malformed"),
        ({"extra": 1}, "claim_authorization_details_malformed"),
    ],
)
def test_malformed_authorization_details_are_refused(
    verifier: TokenVerifier, forge: Forge, good_claims: Claims, detail_change: dict[str, Any], reason: str
) -> None:
    good_claims["authorization_details"] = [{**good_claims["authorization_details"][0], **detail_change}]
    refused(verifier, forge(good_claims), "token_invalid", reason)


def test_two_authorization_details_are_refused(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    good_claims["authorization_details"] = good_claims["authorization_details"] * 2
    refused(verifier, forge(good_claims), "token_invalid", "claim_authorization_details_malformed")


def test_a_malformed_cnf_is_refused(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    refused(verifier, forge({**good_claims, "cnf": {"jkt": "x"}}), "token_invalid", "claim_cnf_malformed")


def test_an_oversized_token_is_refused_before_parsing(ring: KeyRing, forge: Forge, good_claims: Claims) -> None:
    spy = SpySource(ring)
    token = forge({**good_claims, "pad": "p" * 8000})
    assert len(token) > 8192
    refused(TokenVerifier(spy, ISSUER, AUDIENCE), token, "token_invalid", "oversized")
    assert spy.asked == []


def test_a_lifetime_longer_than_the_cap_is_refused(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    token = forge({**good_claims, "exp": good_claims["iat"] + 3601})
    refused(verifier, token, "token_invalid", "lifetime_out_of_range")


# --- time ------------------------------------------------------------------------------------------------------


def test_expiry_allows_the_leeway_and_no_more(
    verifier: TokenVerifier, clock: FixedClock, issue: Callable[..., IssuedToken]
) -> None:
    issued = issue()
    assert verifier.verify(issued.token, now=issued.expires_at + timedelta(seconds=29)).jti == issued.jti
    refused(verifier, issued.token, "token_expired", "expired", now=issued.expires_at + timedelta(seconds=30))


def test_nbf_in_the_future_beyond_the_leeway_is_refused(
    verifier: TokenVerifier, clock: FixedClock, forge: Forge, good_claims: Claims
) -> None:
    start = int(clock.now().timestamp())

    def starting_in(seconds: int) -> str:
        return forge({**good_claims, "iat": start + seconds, "nbf": start + seconds, "exp": start + seconds + 600})

    assert verifier.verify(starting_in(30)).jti == good_claims["jti"]
    refused(verifier, starting_in(31), "token_not_yet_valid", "nbf_in_future")


# --- issuer, audience, type -------------------------------------------------------------------------------------


def test_wrong_issuer_is_refused(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    refused(verifier, forge({**good_claims, "iss": "https://evil.example"}), "token_invalid", "wrong_iss")


def test_a_verifier_for_another_issuer_refuses_our_tokens(
    ring: KeyRing, issue: Callable[..., IssuedToken]
) -> None:
    refused(TokenVerifier(ring, ISSUER + "/", AUDIENCE), issue().token, "token_invalid", "wrong_iss")


def test_wrong_audience_is_refused(ring: KeyRing, issue: Callable[..., IssuedToken]) -> None:
    refused(TokenVerifier(ring, ISSUER, "lender-c"), issue().token, "token_invalid", "wrong_aud")


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "idverify-vt", "application/jwt", 1])
def test_wrong_typ_is_refused(
    verifier: TokenVerifier, ring: KeyRing, forge: Forge, good_claims: Claims, typ: Any
) -> None:
    header = {"alg": "EdDSA", "kid": ring.active.kid, "typ": typ}
    refused(verifier, forge(good_claims, header), "token_invalid", "wrong_typ")


def test_the_full_media_type_spelling_of_typ_is_accepted(
    verifier: TokenVerifier, ring: KeyRing, forge: Forge, good_claims: Claims
) -> None:
    header = {"alg": "EdDSA", "kid": ring.active.kid, "typ": "Application/IDVERIFY-VT+JWT"}
    assert verifier.verify(forge(good_claims, header)).jti == good_claims["jti"]


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "EdDSA", "kid": "K"},
        {"alg": "EdDSA", "typ": "idverify-vt+jwt"},
        {"alg": "EdDSA", "kid": "K", "typ": "idverify-vt+jwt", "b64": False},
        {"alg": "EdDSA", "kid": "K", "typ": "idverify-vt+jwt", "jku": "https://evil.example/jwks"},
        {"alg": "EdDSA", "kid": "K", "typ": "idverify-vt+jwt", "crit": ["exp"]},
    ],
)
def test_headers_with_missing_or_extra_members_are_refused(
    verifier: TokenVerifier, ring: KeyRing, forge: Forge, good_claims: Claims, header: Claims
) -> None:
    header = {k: (ring.active.kid if v == "K" else v) for k, v in header.items()}
    refused(verifier, forge(good_claims, header), "token_invalid", "header_members")


# --- binding ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("binding", "reason"),
    [
        (ExpectedBinding("LA-2026-0002", "12000.00", "CNY", LOAN["payout_account"]), "binding_loan_application_id"),
        (ExpectedBinding("LA-2026-0001", "12000.01", "CNY", LOAN["payout_account"]), "binding_amount"),
        (ExpectedBinding("LA-2026-0001", Decimal("1.2E+5"), "CNY", LOAN["payout_account"]), "binding_amount"),
        (ExpectedBinding("LA-2026-0001", "NaN", "CNY", LOAN["payout_account"]), "binding_amount"),
        (ExpectedBinding("LA-2026-0001", "not a number", "CNY", LOAN["payout_account"]), "binding_amount"),
        (ExpectedBinding("LA-2026-0001", "12000.00", "USD", LOAN["payout_account"]), "binding_currency"),
        (ExpectedBinding("LA-2026-0001", "12000.00", "cny", LOAN["payout_account"]), "binding_currency"),
        (ExpectedBinding("LA-2026-0001", "12000.00", "CNY", "6222021234567891"), "binding_payout_account"),
        (ExpectedBinding("LA-2026-0001", "12000.00", "CNY", " - "), "binding_payout_account"),
    ],
)
def test_a_binding_for_anything_else_is_refused(
    verifier: TokenVerifier, issue: Callable[..., IssuedToken], binding: ExpectedBinding, reason: str
) -> None:
    refused(verifier, issue().token, "token_binding_mismatch", reason, expected=binding)


@pytest.mark.parametrize("amount", ["12000", "12000.0", "12000.0000", Decimal("1.2E+4")])
def test_the_amount_compares_as_a_number(
    verifier: TokenVerifier, issue: Callable[..., IssuedToken], amount: Any
) -> None:
    binding = ExpectedBinding("LA-2026-0001", amount, "CNY", "6222-0212-3456-7890")
    assert verifier.verify(issue().token, expected=binding).amount == Decimal(12000)


def test_a_float_amount_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        ExpectedBinding("LA-1", 12000.0, "CNY", "1")  # type: ignore[arg-type]


# --- garbage ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "not_compact_jws"),
        ("garbage", "not_compact_jws"),
        ("a.b", "not_compact_jws"),
        ("a.b.c.d", "not_compact_jws"),
        ("..", "not_compact_jws"),
        ("é.é.é", "not_compact_jws"),
        ("eyJ hbGc.e30.AAAA", "not_compact_jws"),
        ("a=.b.c", "not_compact_jws"),
        (f"{b64(b'not json')}.e30.{b64(bytes(64))}", "header_not_json_object"),
        (f"{b64json([1, 2])}.e30.{b64(bytes(64))}", "header_not_json_object"),
        (f"{b64(DUPLICATE_ALG)}.e30.{b64(bytes(64))}", "header_not_json_object"),
        (f"{b64(bytes([0xff, 0xfe]))}.e30.{b64(bytes(64))}", "header_not_json_object"),
        ("aaaaa.e30.AAAA", "header_not_json_object"),
        (f"{'a' * 600}.e30.AAAA", "header_oversized"),
        (b"a.b.c", "not_a_string"),
        (None, "not_a_string"),
    ],
)
def test_garbage_is_refused(verifier: TokenVerifier, token: Any, reason: str) -> None:
    refused(verifier, token, "token_invalid", reason)


@pytest.mark.parametrize(
    "payload", [b"not json", b"[1,2]", b'{"a":NaN}', b'{"jti":"a","jti":"b"}', b"\xff\xfe", b"[" * 5000]
)
def test_a_validly_signed_non_json_or_ambiguous_payload_is_refused(
    verifier: TokenVerifier, forge: Forge, payload: bytes
) -> None:
    refused(verifier, forge(payload), "token_invalid", "payload_not_json_object")


def test_refusals_never_echo_the_token_or_claims(verifier: TokenVerifier, forge: Forge, good_claims: Claims) -> None:
    token = forge({**good_claims, "iss": "https://evil.example"})
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    text = f"{caught.value!s} {caught.value!r} {caught.value.message} {caught.value.internal_reason}"
    for secret in (token, token.split(".")[1], "evil", good_claims["jti"], good_claims["sub"]):
        assert secret not in text


def test_a_naive_now_is_a_programming_error(verifier: TokenVerifier, issue: Callable[..., IssuedToken]) -> None:
    with pytest.raises(ValueError):
        verifier.verify(issue().token, now=datetime(2026, 11, 1, 9, 0))


def test_payload_json_is_parsed_only_after_the_signature(
    verifier: TokenVerifier, issue: Callable[..., IssuedToken]
) -> None:
    parts = issue().token.split(".")
    parts[1] = b64(b"not json")
    refused(verifier, ".".join(parts), "token_invalid", "bad_signature")


def test_claims_are_returned_as_issued(verifier: TokenVerifier, issue: Callable[..., IssuedToken]) -> None:
    issued = issue()
    verified = verifier.verify(issued.token)
    payload = issued.token.split(".")[1]
    assert dict(verified.claims) == json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
