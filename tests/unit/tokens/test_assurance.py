"""acr and amr honestly reflect which factors passed."""

from __future__ import annotations

import pytest

from idverify.domain.errors import FailedPrecondition
from idverify.domain.values import Factor
from idverify.tokens.assurance import ACR_HIGH, ACR_LOW, ACR_SUBSTANTIAL, decide_assurance, meets

F = Factor


@pytest.mark.parametrize(
    ("factors", "pad_ran", "acr", "amr"),
    [
        ({F.SMS_OTP}, False, ACR_LOW, ("sms",)),
        ({F.TOTP}, False, ACR_LOW, ("otp",)),
        ({F.SMS_OTP, F.TOTP}, False, ACR_LOW, ("otp", "sms")),
        ({F.DOCUMENT}, False, ACR_LOW, ("doc",)),
        ({F.SMS_OTP, F.DOCUMENT}, False, ACR_LOW, ("doc", "sms")),
        # a face match without liveness evidence could be a photograph
        ({F.FACE_MATCH_DOCUMENT, F.SMS_OTP}, False, ACR_LOW, ("face", "sms")),
        ({F.FACE_MATCH_DOCUMENT, F.SMS_OTP}, True, ACR_LOW, ("face", "sms")),
        ({F.FACE_MATCH_DOCUMENT, F.LIVENESS}, True, ACR_LOW, ("face",)),
        ({F.FACE_MATCH_DOCUMENT, F.LIVENESS, F.SMS_OTP}, False, ACR_SUBSTANTIAL, ("face", "mfa", "sms")),
        ({F.FACE_MATCH_ENROLLED, F.LIVENESS, F.TOTP}, True, ACR_SUBSTANTIAL, ("face", "mfa", "otp")),
        ({F.FACE_MATCH_DOCUMENT, F.LIVENESS, F.SMS_OTP, F.DOCUMENT}, False, ACR_SUBSTANTIAL,
         ("doc", "face", "mfa", "sms")),
        ({F.FACE_MATCH_DOCUMENT, F.LIVENESS, F.SMS_OTP, F.DOCUMENT}, True, ACR_HIGH, ("doc", "face", "mfa", "sms")),
        ({F.FACE_MATCH_DOCUMENT, F.LIVENESS, F.TOTP, F.DOCUMENT}, True, ACR_HIGH, ("doc", "face", "mfa", "otp")),
    ],
)
def test_acr_and_amr_follow_the_passed_factors(
    factors: set[Factor], pad_ran: bool, acr: str, amr: tuple[str, ...]
) -> None:
    assert decide_assurance(factors, pad_ran=pad_ran) == (result := decide_assurance(factors, pad_ran=pad_ran))
    assert (result.acr, result.amr) == (acr, amr)


def test_factor_values_as_strings_are_accepted() -> None:
    assert decide_assurance({"sms_otp", "document"}, pad_ran=False).amr == ("doc", "sms")


@pytest.mark.parametrize("factors", [set(), {F.LIVENESS}])
def test_no_identifying_factor_earns_no_token(factors: set[Factor]) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        decide_assurance(factors, pad_ran=True)
    assert caught.value.code == "no_factor_passed"


def test_an_unknown_factor_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        decide_assurance({"retina"}, pad_ran=False)


def test_levels_are_ordered() -> None:
    assert meets(ACR_HIGH, ACR_SUBSTANTIAL)
    assert meets(ACR_SUBSTANTIAL, ACR_SUBSTANTIAL)
    assert not meets(ACR_LOW, ACR_SUBSTANTIAL)
