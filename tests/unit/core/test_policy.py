"""The policy decides factors from the request and refuses to name factors the deployment lacks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from idverify.domain.policy import AmountBand, Policy, PolicyError, PolicyInput
from idverify.domain.values import Factor, Money

F = Factor


def _input(amount: str, **kw: object) -> PolicyInput:
    return PolicyInput(amount=Money.parse(amount, "CNY"), **kw)  # type: ignore[arg-type]


def test_small_loans_need_only_the_base_factor() -> None:
    assert Policy().required_factors(_input("1000")) == (F.SMS_OTP,)


def test_amount_bands_add_liveness_then_document_and_portrait_match() -> None:
    policy = Policy()
    assert policy.required_factors(_input("5000")) == (F.SMS_OTP, F.LIVENESS)
    assert policy.required_factors(_input("50000")) == (F.SMS_OTP, F.DOCUMENT, F.LIVENESS, F.FACE_MATCH_DOCUMENT)


def test_bands_in_another_currency_do_not_apply() -> None:
    assert Policy().required_factors(PolicyInput(amount=Money.parse("99999", "USD"))) == (F.SMS_OTP,)


def test_a_recently_ported_number_adds_a_face_factor_because_sms_alone_is_weak() -> None:
    assert F.LIVENESS in Policy().required_factors(_input("100", phone_recently_changed=True))


def test_an_enrolled_face_is_matched_whenever_liveness_runs() -> None:
    got = Policy().required_factors(_input("6000", has_enrolled_face=True))
    assert F.FACE_MATCH_ENROLLED in got
    assert F.FACE_MATCH_ENROLLED not in Policy().required_factors(_input("100", has_enrolled_face=True))


def test_risk_step_up_factors_are_added_and_face_matches_bring_their_prerequisites() -> None:
    got = Policy().required_factors(_input("100", step_up=(F.FACE_MATCH_DOCUMENT,)))
    assert {F.DOCUMENT, F.LIVENESS, F.FACE_MATCH_DOCUMENT} <= set(got)


def test_validation_refuses_a_policy_naming_unavailable_factors() -> None:
    with pytest.raises(PolicyError, match="document"):
        Policy().validate({F.SMS_OTP, F.LIVENESS, F.FACE_MATCH_ENROLLED, F.FACE_MATCH_DOCUMENT})
    Policy(amount_bands=(), new_device=(), phone_recently_changed=()).validate({F.SMS_OTP})


def test_from_mapping_parses_bands_and_rejects_unknown_keys_and_factors() -> None:
    policy = Policy.from_mapping({"base": ["totp"], "amount_bands": [
        {"minimum": 100, "currency": "CNY", "factors": ["liveness"]}], "session_ttl_s": 600})
    assert policy.base == (F.TOTP,)
    assert policy.amount_bands == (AmountBand(Decimal("100"), "CNY", (F.LIVENESS,)),)
    with pytest.raises(PolicyError, match="unknown policy keys"):
        Policy.from_mapping({"bse": ["sms_otp"]})
    with pytest.raises(PolicyError, match="unknown factor"):
        Policy.from_mapping({"base": ["fingerprint"]})


def test_session_lifetime_outside_bounds_is_refused() -> None:
    with pytest.raises(PolicyError, match="session_ttl_s"):
        Policy(session_ttl_s=10).validate(set(Factor))
