"""The optional claims a token may carry (device key, liveness evidence, a reported phone change): issued by the
issuer, read by the verifier, and refused when malformed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idverify.client.verifier import TokenVerifier
from idverify.tokens.issuer import IssuedToken
from tests.unit.tokens.conftest import Forge
from tests.unit.tokens.test_verifier_refusals import refused

THUMBPRINT = "pEBeCJhT83IwZr6rFb1YfaWF48QRc1av_C_x2nZ6-Cc"


def test_issued_optional_claims_are_read_back(issue: Callable[..., IssuedToken], verifier: TokenVerifier) -> None:
    token = issue(key_thumbprint=THUMBPRINT, liveness_evidence=["pad", "light", "continuity", "light"],
                  phone_change="carrier:acme").token
    verified = verifier.verify(token)
    assert verified.holder_key_thumbprint == THUMBPRINT
    assert verified.liveness_evidence == ("continuity", "light", "pad")
    assert verified.phone_change_source == "carrier:acme"
    plain = verifier.verify(issue().token)
    assert (plain.holder_key_thumbprint, plain.liveness_evidence, plain.phone_change_source) == (None, (), None)


@pytest.mark.parametrize(("claim", "value"), [
    ("liveness", ["continuity", "mirror"]),          # not a kind of evidence the service names
    ("liveness", ["light", "continuity"]),           # not in the issuer's sorted form
    ("liveness", "continuity"),                      # not a list
    ("liveness", ["pad", "pad"]),                    # repeated
    ("phone_change", {"recent": False, "source": "lender"}),
    ("phone_change", {"recent": True}),
    ("phone_change", {"recent": True, "source": "lender", "extra": 1}),
    ("phone_change", "lender"),
])
def test_malformed_optional_claims_are_refused(verifier: TokenVerifier, forge: Forge, good_claims: dict[str, Any],
                                               claim: str, value: Any) -> None:
    refused(verifier, forge({**good_claims, claim: value}), "token_invalid", f"claim_{claim}_malformed")
