"""Each risk rule fires above its threshold and not at it; the policy maps scores to outcomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from idverify.risk import RiskPolicy, RiskRules, RuleHit, Signals, assess

DAY = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
NIGHT = datetime(2026, 10, 31, 18, 30, tzinfo=UTC)  # 02:30 in Shanghai
RULES, POLICY = RiskRules(), RiskPolicy()


def _codes(signals: Signals) -> set[str]:
    return {h.code for h in RULES.evaluate(signals)}


@pytest.mark.parametrize(
    ("field", "at_limit", "code"),
    [
        ("phones_per_identity", 2, "identity_many_phones"),
        ("devices_per_identity", 3, "identity_many_devices"),
        ("identities_per_device", 2, "device_many_identities"),
        ("identities_per_ip", 5, "ip_many_identities"),
        ("failed_factors", 3, "many_failed_factors"),
    ],
)
def test_count_rules_fire_only_above_their_limit(field: str, at_limit: int, code: str) -> None:
    counts: dict[str, Any] = {field: at_limit}
    assert code not in _codes(replace(Signals(at=DAY), **counts))
    counts[field] = at_limit + 1
    assert code in _codes(replace(Signals(at=DAY), **counts))


def test_new_device_fires_only_for_a_known_account() -> None:
    assert _codes(Signals(at=DAY, known_account=True, device_seen_for_account=False)) == {"new_device_known_account"}
    assert _codes(Signals(at=DAY, known_account=False, device_seen_for_account=False)) == set()
    assert _codes(Signals(at=DAY, known_account=True, device_seen_for_account=True)) == set()


def test_sim_swap_flag_fires_and_asks_for_factors_that_avoid_sms() -> None:
    decision = assess(Signals(at=DAY, phone_recently_changed=True), RULES, POLICY)
    assert decision.outcome == "step_up"
    assert decision.reason_codes == ("phone_recently_changed",)
    assert decision.step_up_factors == ("document", "liveness", "face_match_document")
    assert "sms_otp" not in decision.step_up_factors


def test_night_burst_fires_at_night_only() -> None:
    burst = Signals(at=NIGHT, tenant_starts_in_burst_window=6)
    assert _codes(burst) == {"night_burst"}
    assert _codes(replace(burst, at=DAY)) == set()
    assert _codes(replace(burst, tenant_starts_in_burst_window=5)) == set()


def test_frozen_identity_is_refused_even_when_the_policy_would_allow_everything() -> None:
    lenient = RiskPolicy(step_up_at=100, review_at=100, refuse_at=100)
    decision = assess(Signals(at=DAY, frozen=True), RULES, lenient)
    assert decision.outcome == "refuse"
    assert decision.reason_codes == ("identity_frozen",)


@pytest.mark.parametrize(
    ("scores", "outcome"),
    [
        ((), "allow"),
        ((19,), "allow"),
        ((20,), "step_up"),
        ((40, 19), "step_up"),
        ((60,), "review"),
        ((50, 40), "refuse"),
    ],
)
def test_policy_maps_total_score_to_outcome(scores: tuple[int, ...], outcome: str) -> None:
    hits = tuple(RuleHit(f"r{i}", s) for i, s in enumerate(scores))
    assert POLICY.decide(hits).outcome == outcome


def test_score_is_capped_at_100_and_codes_are_unique() -> None:
    decision = POLICY.decide((RuleHit("a", 80), RuleHit("a", 80)))
    assert decision.score == 100
    assert decision.reason_codes == ("a",)


def test_step_up_factors_are_named_only_for_step_up() -> None:
    assert POLICY.decide((RuleHit("a", 30, ("totp",)),)).step_up_factors == ("totp",)
    assert POLICY.decide((RuleHit("a", 70, ("totp",)),)).step_up_factors == ()
    assert RiskPolicy(base_step_up=("document",)).decide((RuleHit("a", 30, ("totp",)),)).step_up_factors == (
        "document",
        "totp",
    )


def test_thresholds_are_configurable_per_rule() -> None:
    rules = replace(RULES, sim_swap=replace(RULES.sim_swap, score=95))
    assert assess(Signals(at=DAY, phone_recently_changed=True), rules, POLICY).outcome == "refuse"


def test_inconsistent_thresholds_are_refused() -> None:
    with pytest.raises(ValueError):
        RiskPolicy(step_up_at=70, review_at=60)
