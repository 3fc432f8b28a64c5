"""What the issuer puts in a token, and what it refuses to sign."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from idverify.client.claims import payout_account_hash
from idverify.domain import ports
from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.tokens.issuer import IssuedToken, JwsTokenIssuer, pairwise_subject
from idverify.tokens.keys import KeyRing
from tests.fakes import FixedClock, SeededRandom
from tests.unit.tokens.conftest import AUDIENCE, ISSUER, SECRET


def _decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return tuple(
        json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (header, payload)
    )


def test_a_token_carries_the_documented_header_and_claims(
    issue: Callable[..., IssuedToken], ring: KeyRing, clock: FixedClock
) -> None:
    issued = issue()
    header, claims = _decode(issued.token)
    iat = int(clock.now().timestamp())
    assert header == {"alg": "EdDSA", "kid": ring.active.kid, "typ": "idverify-vt+jwt"}
    assert claims == {
        "iss": ISSUER,
        "sub": pairwise_subject(SECRET, AUDIENCE, "applicant-42"),
        "aud": [AUDIENCE, "lender-b"],
        "iat": iat,
        "nbf": iat,
        "exp": iat + 600,
        "jti": issued.jti,
        "sid": "S-1",
        "acr": "urn:idverify:acr:high",
        "amr": ["doc", "face", "mfa", "sms"],
        "authorization_details": [
            {
                "type": "loan_application",
                "loan_application_id": "LA-2026-0001",
                "amount": {"value": "12000.00", "currency": "CNY"},
                "payout_account_hash": payout_account_hash(issued.jti, "6222021234567890"),
            }
        ],
    }
    assert (issued.kid, issued.issued_at) == (ring.active.kid, clock.now())
    assert (issued.expires_at - issued.issued_at).total_seconds() == 600


def test_the_payout_account_hash_is_recomputable_from_the_documented_recipe(
    issue: Callable[..., IssuedToken]
) -> None:
    issued = issue(payout_account="gb82 west-1234 5698 7654 32")
    _, claims = _decode(issued.token)
    digest = hashlib.sha256(f"{issued.jti}:GB82WEST12345698765432".encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert claims["authorization_details"][0]["payout_account_hash"] == expected


def test_jti_is_128_bits_from_the_injected_random(
    ring: KeyRing, clock: FixedClock
) -> None:
    def make(seed: int) -> JwsTokenIssuer:
        return JwsTokenIssuer(key_ring=ring, issuer=ISSUER, audience=[AUDIENCE], subject_secret=SECRET,
                              clock=clock, random=SeededRandom(seed))

    args: dict[str, Any] = {"session_id": "S", "applicant_id": "A", "loan_application_id": "L",
                            "amount_value": "1.00", "currency": "CNY", "payout_account": "1",
                            "factors": {"sms_otp"}, "pad_ran": False}
    first, again, other = make(1).issue(**args), make(1).issue(**args), make(2).issue(**args)
    assert first.jti == again.jti != other.jti
    assert len(base64.urlsafe_b64decode(first.jti + "==")) == 16


def test_the_subject_is_pairwise_and_never_the_applicant_id() -> None:
    a = pairwise_subject(SECRET, "lender-a", "applicant-42")
    assert a == pairwise_subject(SECRET, "lender-a", "applicant-42")
    assert a != pairwise_subject(SECRET, "lender-b", "applicant-42")
    assert a != pairwise_subject(b"x" * 32, "lender-a", "applicant-42")
    assert "applicant" not in a
    assert len(a) == 43


def test_ttl_is_configurable_per_token_and_capped(issue: Callable[..., IssuedToken]) -> None:
    issued = issue(ttl_s=3600)
    assert (issued.expires_at - issued.issued_at).total_seconds() == 3600
    for bad in (0, -5, 3601):
        with pytest.raises(InvalidArgument) as caught:
            issue(ttl_s=bad)
        assert caught.value.code == "token_ttl_invalid"


def test_the_issuer_refuses_a_cap_beyond_the_key_rings_grace(ring: KeyRing, clock: FixedClock) -> None:
    short = KeyRing(ring.keys, max_token_ttl_s=300)
    with pytest.raises(ValueError):
        JwsTokenIssuer(key_ring=short, issuer=ISSUER, audience=[AUDIENCE], subject_secret=SECRET,
                       clock=clock, random=SeededRandom())


def test_a_short_subject_secret_is_refused(ring: KeyRing, clock: FixedClock) -> None:
    with pytest.raises(ValueError):
        JwsTokenIssuer(key_ring=ring, issuer=ISSUER, audience=[AUDIENCE], subject_secret=b"short",
                       clock=clock, random=SeededRandom())


def test_cnf_carries_the_holder_key_thumbprint_when_given(issue: Callable[..., IssuedToken]) -> None:
    jkt = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert _decode(issue(key_thumbprint=jkt).token)[1]["cnf"] == {"jkt": jkt}
    assert "cnf" not in _decode(issue().token)[1]


@pytest.mark.parametrize(("amount", "text"), [(Decimal("12000.00"), "12000.00"), (Decimal("1.2E+4"), "12000"),
                                              ("0.5", "0.5"), ("99.1234", "99.1234")])
def test_amounts_are_written_as_plain_decimal_strings(
    issue: Callable[..., IssuedToken], amount: Any, text: str
) -> None:
    assert _decode(issue(amount_value=amount).token)[1]["authorization_details"][0]["amount"]["value"] == text


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("amount_value", "0", "amount_invalid"),
        ("amount_value", "-1", "amount_invalid"),
        ("amount_value", "1.23456", "amount_invalid"),
        ("amount_value", "NaN", "amount_invalid"),
        ("amount_value", "12,000", "amount_invalid"),
        ("amount_value", 12000.0, "amount_invalid"),
        ("currency", "cny", "currency_invalid"),
        ("currency", "YUAN", "currency_invalid"),
        ("payout_account", " - ", "payout_account_invalid"),
        ("payout_account", "acct/../1", "payout_account_invalid"),
        ("loan_application_id", "", "loan_application_id_invalid"),
        ("loan_application_id", "L" * 129, "loan_application_id_invalid"),
        ("applicant_id", "a\nb", "applicant_id_invalid"),
        ("session_id", "", "session_id_invalid"),
        ("key_thumbprint", "not-a-thumbprint", "key_thumbprint_invalid"),
    ],
)
def test_malformed_inputs_are_refused_with_a_reason_code(
    issue: Callable[..., IssuedToken], field: str, value: Any, code: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        issue(**{field: value})
    assert caught.value.code == code


def test_a_session_with_no_identifying_factor_gets_no_token(issue: Callable[..., IssuedToken]) -> None:
    with pytest.raises(FailedPrecondition):
        issue(factors={"liveness"})


def test_the_issued_token_fits_the_domain_port_and_hides_the_token_in_repr(
    issue: Callable[..., IssuedToken], issuer: JwsTokenIssuer
) -> None:
    issued = issue()
    assert isinstance(issued, ports.IssuedToken)
    assert issued.token not in repr(issued)
    assert issued.token.split(".")[2] not in str(issued)
    assert SECRET.decode() not in repr(issuer)


def test_rotation_switches_the_signing_kid(
    issuer: JwsTokenIssuer, issue: Callable[..., IssuedToken], ring: KeyRing, clock: FixedClock
) -> None:
    issuer.key_ring = ring.rotated(clock.now(), SeededRandom(99))
    issued = issue()
    assert issued.kid == issuer.key_ring.active.kid != ring.active.kid
