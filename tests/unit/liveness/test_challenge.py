"""start_challenge: a server-random pose sequence ending frontal, a 128-bit nonce, a deadline, bilingual guidance."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from idverify.factors.liveness import (
    DIRECTIONS,
    REASON_TEXTS,
    LivenessConfig,
    LivenessReason,
    Pose,
    PoseThresholds,
    start_challenge,
)
from tests.fakes import FixedClock, SeededRandom
from tests.unit.liveness.builders import CONFIG


def test_sequences_have_two_to_four_steps_end_frontal_and_never_repeat_a_pose_immediately() -> None:
    lengths = set()
    for seed in range(200):
        poses = start_challenge("s", FixedClock(), SeededRandom(seed), CONFIG).poses
        lengths.add(len(poses))
        assert poses[-1] is Pose.CENTRE
        assert all(p in DIRECTIONS for p in poses[:-1])
        assert all(a != b for a, b in pairwise(poses))
    assert lengths == {2, 3, 4}


def test_every_direction_is_asked_for_and_the_sequence_comes_from_the_injected_random() -> None:
    seen = {p for seed in range(100) for p in start_challenge("s", FixedClock(), SeededRandom(seed), CONFIG).poses}
    assert seen == set(Pose)
    sequences = {start_challenge("s", FixedClock(), SeededRandom(seed), CONFIG).poses for seed in range(100)}
    assert len(sequences) > 20


def test_step_count_follows_the_config() -> None:
    config = LivenessConfig(same_person_threshold=0.4, min_steps=4, max_steps=4)
    assert {len(start_challenge("s", FixedClock(), SeededRandom(s), config).poses) for s in range(30)} == {4}


def test_nonce_is_128_bits_of_hex_from_the_injected_random() -> None:
    a = start_challenge("s", FixedClock(), SeededRandom(1), CONFIG)
    again = start_challenge("s", FixedClock(), SeededRandom(1), CONFIG)
    b = start_challenge("s", FixedClock(), SeededRandom(2), CONFIG)
    assert len(a.nonce) == 32
    assert int(a.nonce, 16) >= 0
    assert a.nonce == again.nonce
    assert a.nonce != b.nonce


def test_deadline_is_the_configured_time_after_issue_on_the_injected_clock() -> None:
    clock = FixedClock()
    config = LivenessConfig(same_person_threshold=0.4, ttl_s=45)
    challenge = start_challenge("session-9", clock, SeededRandom(), config)
    assert challenge.session_id == "session-9"
    assert challenge.issued_at == clock.now()
    assert challenge.deadline == clock.now() + timedelta(seconds=45)


def test_every_step_carries_guidance_in_chinese_and_english() -> None:
    for seed in range(20):
        for step in start_challenge("s", FixedClock(), SeededRandom(seed), CONFIG).steps:
            assert set(step.guidance) == {"zh-CN", "en"}
            assert all(text.strip() for text in step.guidance.values())
    texts = {step.pose: step.guidance for seed in range(50)
             for step in start_challenge("s", FixedClock(), SeededRandom(seed), CONFIG).steps}
    assert "左" in texts[Pose.LEFT]["zh-CN"]
    assert "left" in texts[Pose.LEFT]["en"]
    assert "右" in texts[Pose.RIGHT]["zh-CN"]
    assert "right" in texts[Pose.RIGHT]["en"]


@pytest.mark.parametrize("changes", [
    {"min_steps": 1}, {"min_steps": 4, "max_steps": 3}, {"max_steps": 7}, {"ttl_s": 0},
    {"min_frames": 0}, {"max_frames": 3}, {"max_frames": 200},
    {"same_person_threshold": 1.5},
])
def test_inconsistent_config_is_refused_at_start_up(changes: dict[str, float]) -> None:
    base: dict[str, float] = {"same_person_threshold": 0.4}
    with pytest.raises(ValueError):
        LivenessConfig(**{**base, **changes})  # type: ignore[arg-type]


def test_pose_thresholds_must_leave_a_gap_between_centre_and_turn() -> None:
    with pytest.raises(ValueError):
        PoseThresholds(turn_yaw=0.1, centre_yaw=0.2)


def test_every_reason_code_has_applicant_text_in_chinese_and_english() -> None:
    assert set(REASON_TEXTS) == {r.value for r in LivenessReason}
    for zh, en in REASON_TEXTS.values():
        assert zh.strip()
        assert en.strip()
    # Codes that would tell an attacker which check caught them share one generic text.
    generic = REASON_TEXTS[LivenessReason.STATIC_OR_REPLAYED]
    for code in (LivenessReason.IDENTITY_CHANGED, LivenessReason.PAD_ATTACK_SUSPECTED,
                 LivenessReason.NONCE_MISMATCH):
        assert REASON_TEXTS[code] == generic
