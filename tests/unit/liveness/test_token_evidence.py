"""What the token says about liveness, and the policy that can demand strong liveness above an amount."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from idverify.domain.errors import FailedPrecondition
from idverify.domain.policy import AmountBand, Policy
from idverify.domain.session import Status
from idverify.domain.values import Factor, FactorResult, Outcome
from idverify.factors.liveness import strong_liveness
from idverify.tokens.assurance import ACR_HIGH, ACR_SUBSTANTIAL, decide_assurance
from idverify.tokens.issuer import JwsTokenIssuer
from idverify.tokens.keys import KeyRing
from idverify.usecases.verification import StartRequest, Verifications
from tests.fakes import FixedClock, InMemoryStore, RecordingIssuer, SeededRandom
from tests.unit.core.test_verifications import ctx

F = Factor
FULL = {F.FACE_MATCH_DOCUMENT, F.LIVENESS, F.SMS_OTP, F.DOCUMENT}


@pytest.mark.parametrize(("evidence", "strong"), [
    (("continuity", "light", "capture_key"), True),
    (("continuity", "light", "attestation"), True),
    (("continuity", "light", "capture_key", "attestation", "pad"), True),
    (("continuity", "light"), False),
    (("continuity", "capture_key"), False),
    (("light", "attestation"), False),
    ((), False),
])
def test_strong_liveness_needs_continuity_light_and_a_bound_capture(evidence: tuple[str, ...], strong: bool) -> None:
    assert strong_liveness(evidence) is strong


def test_high_assurance_needs_strong_liveness_when_the_evidence_is_stated() -> None:
    assert decide_assurance(FULL, pad_ran=True, liveness_evidence=("continuity", "light", "attestation",
                                                                   "pad")).acr == ACR_HIGH
    weak = decide_assurance(FULL, pad_ran=True, liveness_evidence=("continuity", "light", "pad"))
    assert weak.acr == ACR_SUBSTANTIAL
    assert weak.amr == ("doc", "face", "mfa", "sms")


def test_a_capture_key_adds_swk_to_amr() -> None:
    signed = decide_assurance(FULL, pad_ran=True, liveness_evidence=("continuity", "light", "capture_key", "pad"))
    assert signed.acr == ACR_HIGH
    assert signed.amr == ("doc", "face", "mfa", "sms", "swk")


def test_the_token_lists_the_liveness_evidence_and_says_nothing_when_none_was_stated() -> None:
    clock, rnd = FixedClock(), SeededRandom(5)
    issuer = JwsTokenIssuer(key_ring=KeyRing.generate(clock.now(), rnd), issuer="https://idverify.example",
                            audience=["lender-a"], subject_secret=b"k" * 32, clock=clock, random=rnd)

    def claims(**extra: object) -> dict[str, object]:
        token = issuer.issue(session_id="S-1", applicant_id="a-1", loan_application_id="L-1", amount_value="100.00",
                             currency="CNY", payout_account="6222", factors=FULL, pad_ran=True,
                             **extra).token  # type: ignore[arg-type]
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]

    stated = claims(liveness_evidence=("light", "continuity", "capture_key", "pad"))
    assert stated["liveness"] == ["capture_key", "continuity", "light", "pad"]
    assert stated["acr"] == ACR_HIGH
    assert "liveness" not in claims()
    assert claims(liveness_evidence=("continuity",))["acr"] == ACR_SUBSTANTIAL


def test_a_policy_can_demand_strong_liveness_above_an_amount() -> None:
    policy = Policy.from_mapping({"strong_liveness_from": {"minimum": "20000", "currency": "CNY"}})
    assert policy.strong_liveness_from is not None
    assert policy.requires_strong_liveness(ctx(amount="20000.00").amount)
    assert not policy.requires_strong_liveness(ctx(amount="19999.99").amount)

    clock, store = FixedClock(), InMemoryStore()
    band = AmountBand(Decimal("20000"), "CNY", (Factor.LIVENESS,))
    issuer = RecordingIssuer(clock)
    v = Verifications(uow=store.uow, clock=clock, random=SeededRandom(), policy=Policy(strong_liveness_from=band),
                      issuer=issuer)
    big = ctx(amount="20000.00")
    sid = v.start(StartRequest(context=big, phone_e164="+8613800138000", payout_account="1")).session_id
    assert Factor.LIVENESS in v.get(big, sid).required
    for factor in v.get(big, sid).required:
        if factor is not Factor.LIVENESS:
            v.record(big, sid, FactorResult(factor, Outcome.PASSED, "ok", clock.now()))
    v.record(big, sid, FactorResult(Factor.LIVENESS, Outcome.PASSED, "ok", clock.now(),
                                    evidence=("continuity", "light")))
    with pytest.raises(FailedPrecondition) as err:
        v.complete(big, sid)
    assert err.value.code == "liveness_evidence_missing"
    v.record(big, sid, FactorResult(Factor.LIVENESS, Outcome.PASSED, "ok", clock.now(),
                                    evidence=("continuity", "light", "attestation")))
    assert v.complete(big, sid).session.status is Status.COMPLETED
    assert issuer.calls[-1]["liveness_evidence"] == ("continuity", "light", "attestation")
