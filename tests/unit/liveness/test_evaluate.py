"""evaluate: every reason code is reachable, and each test breaks a valid submission in exactly one way."""

from __future__ import annotations

from dataclasses import replace

import pytest

from idverify.factors.head_pose import HeadPose
from idverify.factors.liveness import (
    LivenessConfig,
    LivenessReason,
    PadPolicy,
    Pose,
    PoseThresholds,
    classify_pose,
    evaluate,
)
from tests.unit.liveness.builders import (
    CONFIG,
    PERSON_B,
    a_moment_later,
    challenge_for,
    embedding_of,
    frame,
    submission,
    with_frame,
)

L, R, U, D, C = Pose.LEFT, Pose.RIGHT, Pose.UP, Pose.DOWN, Pose.CENTRE
CHALLENGE = challenge_for(L, U, R, C)
NOW = a_moment_later(CHALLENGE)


def codes(frames: list, config: LivenessConfig = CONFIG, pad: PadPolicy | None = None) -> tuple[str, ...]:  # type: ignore[type-arg]
    return evaluate(CHALLENGE, frames, NOW, config=config, pad=pad).reason_codes


def test_a_complete_submission_passes_and_its_last_frontal_frame_is_the_selfie() -> None:
    frames = submission(CHALLENGE)
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.passed
    assert result.reason_codes == ()
    assert result.primary_reason is None
    assert [v.pose for v in result.per_frame] == [C, L, C, U, C, R, C]
    assert result.selfie_index == len(frames) - 1
    assert result.selfie_embedding == frames[-1].embedding
    assert result.steps_reached == 4
    assert result.min_similarity is not None
    assert result.min_similarity > 0.99
    assert result.pad_ran is False
    assert result.aggregate_score is None


def test_mirrored_frames_pass_when_the_client_says_so_and_fail_when_it_does_not() -> None:
    mirrored = submission(CHALLENGE, mirrored=True)
    assert evaluate(CHALLENGE, mirrored, NOW, config=CONFIG).passed
    unflagged = [replace(f, mirrored=False) for f in mirrored]
    assert codes(unflagged) == (LivenessReason.POSE_SEQUENCE,)


def test_a_frame_with_another_nonce_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 3, nonce="00" * 16)
    assert codes(frames) == (LivenessReason.NONCE_MISMATCH,)


def test_a_submission_after_the_deadline_fails() -> None:
    frames = submission(CHALLENGE)
    late = CHALLENGE.deadline.replace(microsecond=1)
    assert late > CHALLENGE.deadline
    assert evaluate(CHALLENGE, frames, late, config=CONFIG).reason_codes == (LivenessReason.DEADLINE_PASSED,)
    assert evaluate(CHALLENGE, frames, CHALLENGE.deadline, config=CONFIG).passed


def test_too_few_or_too_many_frames_fail() -> None:
    frames = submission(CHALLENGE)  # 7 frames
    assert codes(frames, replace(CONFIG, min_frames=8)) == (LivenessReason.FRAME_COUNT,)
    assert codes(frames, replace(CONFIG, max_frames=6)) == (LivenessReason.FRAME_COUNT,)
    assert codes(frames, replace(CONFIG, min_frames=7, max_frames=7)) == ()


def test_a_frame_without_a_face_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 2, face_count=0, pose=None, embedding=None, landmarks=None)
    assert codes(frames) == (LivenessReason.NO_FACE,)


def test_a_frame_with_two_faces_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 2, face_count=2)
    assert codes(frames) == (LivenessReason.MULTIPLE_FACES,)


def test_a_static_photo_submitted_many_times_fails() -> None:
    photo = frame(CHALLENGE, C, 0)
    frames = [replace(photo, captured_at_ms=photo.captured_at_ms + 700 * n) for n in range(6)]
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.primary_reason == LivenessReason.STATIC_OR_REPLAYED
    assert set(result.reason_codes) == {LivenessReason.STATIC_OR_REPLAYED, LivenessReason.POSE_SEQUENCE}
    assert [v.duplicate_of for v in result.per_frame] == [None, 0, 0, 0, 0, 0]


def test_a_repeated_frame_is_caught_by_its_bytes_alone() -> None:
    frames = submission(CHALLENGE)
    frames = with_frame(frames, 4, digest=frames[0].digest)
    assert codes(frames) == (LivenessReason.STATIC_OR_REPLAYED,)


def test_a_frame_whose_thumbnail_barely_differs_from_an_earlier_one_is_a_replay() -> None:
    frames = submission(CHALLENGE)
    near = bytes(min(255, b + (1 if i % 4 == 0 else 0)) for i, b in enumerate(frames[0].thumbnail))
    assert codes(with_frame(frames, 6, thumbnail=near)) == (LivenessReason.STATIC_OR_REPLAYED,)
    far = bytes(min(255, b + 2) for b in frames[0].thumbnail)
    assert codes(with_frame(frames, 6, thumbnail=far)) == ()


def test_a_frame_with_landmarks_identical_to_an_earlier_one_is_a_replay() -> None:
    frames = submission(CHALLENGE)
    assert codes(with_frame(frames, 6, landmarks=frames[2].landmarks)) == (LivenessReason.STATIC_OR_REPLAYED,)


@pytest.mark.parametrize("case", ["not_increasing", "span_too_short", "gap_too_long", "span_longer_than_server"])
def test_implausible_capture_times_fail(case: str) -> None:
    frames = submission(CHALLENGE)
    t0 = frames[0].captured_at_ms
    config = CONFIG
    now = NOW
    if case == "not_increasing":
        frames = with_frame(frames, 3, captured_at_ms=frames[2].captured_at_ms)
    elif case == "span_too_short":
        frames = [replace(f, captured_at_ms=t0 + 100 * n) for n, f in enumerate(frames)]
    elif case == "gap_too_long":
        config = replace(CONFIG, max_gap_ms=2_000)
        frames = [replace(f, captured_at_ms=f.captured_at_ms + (2_000 if n >= 3 else 0))
                  for n, f in enumerate(frames)]
    else:
        now = a_moment_later(CHALLENGE, seconds=2.0)  # frames span 4.2 s; the server has seen 2 s (+2 s skew)
    assert evaluate(CHALLENGE, frames, now, config=config).reason_codes == (LivenessReason.TIMING,)


def test_poses_in_another_order_fail() -> None:
    challenge = challenge_for(L, R, C)
    frames = [frame(challenge, p, n) for n, p in enumerate([C, R, C, L, C])]
    result = evaluate(challenge, frames, NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.POSE_SEQUENCE,)
    assert result.steps_reached == 0


def test_a_missing_step_fails() -> None:
    frames = [frame(CHALLENGE, p, n) for n, p in enumerate([C, L, C, U, C, C])]
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.POSE_SEQUENCE,)
    assert result.steps_reached == 2


def test_a_pose_that_was_not_asked_for_fails_even_if_the_asked_ones_follow() -> None:
    challenge = challenge_for(L, R, C)
    frames = [frame(challenge, p, n) for n, p in enumerate([C, L, D, R, C])]
    assert evaluate(challenge, frames, NOW, config=CONFIG).reason_codes == (LivenessReason.POSE_SEQUENCE,)


def test_a_recording_that_sweeps_through_every_pose_does_not_pass_a_challenge() -> None:
    challenge = challenge_for(R, D, C)
    sweep = [C, L, C, R, C, U, C, D, C]
    frames = [frame(challenge, p, n) for n, p in enumerate(sweep)]
    assert evaluate(challenge, frames, NOW, config=CONFIG).reason_codes == (LivenessReason.POSE_SEQUENCE,)


def test_holding_a_pose_over_several_frames_and_transitional_frames_are_allowed() -> None:
    challenge = challenge_for(L, R, C)
    frames = [frame(challenge, p, n) for n, p in enumerate([C, L, L, C, L, R, R, C])]
    between = frame(challenge, C, 8)
    between = replace(between, pose=HeadPose(yaw=0.17, pitch=0.0))  # neither centre nor a turn
    frames.insert(5, replace(between, captured_at_ms=frames[4].captured_at_ms + 1))
    result = evaluate(challenge, frames, NOW, config=CONFIG)
    assert result.passed, result.reason_codes
    assert result.per_frame[5].pose is None


def test_a_submission_that_ends_turned_away_fails_and_has_no_late_selfie() -> None:
    challenge = challenge_for(L, R, C)
    frames = [frame(challenge, p, n) for n, p in enumerate([C, L, C, R, C, L])]
    result = evaluate(challenge, frames, NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.POSE_SEQUENCE,)
    assert result.selfie_index == 4


def test_a_frame_of_another_person_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 3, embedding=embedding_of(PERSON_B, 3))
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.IDENTITY_CHANGED,)
    assert result.per_frame[3].similarity is not None
    assert result.per_frame[3].similarity < 0.4


def test_a_selfie_of_another_person_after_the_turns_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 6, embedding=embedding_of(PERSON_B, 6))
    assert codes(frames) == (LivenessReason.IDENTITY_CHANGED,)


def test_a_one_face_frame_without_an_embedding_cannot_prove_identity() -> None:
    frames = with_frame(submission(CHALLENGE), 2, embedding=None)
    assert codes(frames) == (LivenessReason.IDENTITY_CHANGED,)


def test_similarity_just_at_the_threshold_passes() -> None:
    frames = submission(CHALLENGE)
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.min_similarity is not None
    assert evaluate(CHALLENGE, frames, NOW, config=replace(CONFIG, same_person_threshold=result.min_similarity)).passed
    assert codes(frames, replace(CONFIG, same_person_threshold=result.min_similarity + 1e-6)) == (
        LivenessReason.IDENTITY_CHANGED,)


def with_pad(scores: list[float | None]) -> list:  # type: ignore[type-arg]
    return [replace(f, pad_live_score=s) for f, s in zip(submission(CHALLENGE), scores, strict=True)]


def test_pad_scores_above_the_threshold_pass_and_the_result_says_pad_ran() -> None:
    result = evaluate(CHALLENGE, with_pad([0.9, 0.8, 0.95, 0.9, 0.9, 0.85, 0.99]), NOW, config=CONFIG,
                      pad=PadPolicy(threshold=0.5, required=True))
    assert result.passed
    assert result.pad_ran
    assert result.aggregate_score == pytest.approx(0.8)


def test_one_frame_below_the_pad_threshold_fails_with_the_default_min_aggregate() -> None:
    result = evaluate(CHALLENGE, with_pad([0.9, 0.8, 0.2, 0.9, 0.9, 0.85, 0.99]), NOW, config=CONFIG,
                      pad=PadPolicy(threshold=0.5, required=False))
    assert result.reason_codes == (LivenessReason.PAD_ATTACK_SUSPECTED,)
    assert [v.pad_flagged for v in result.per_frame] == [False, False, True, False, False, False, False]


def test_mean_aggregate_tolerates_one_weak_frame_unless_it_is_below_the_floor() -> None:
    frames = with_pad([0.9, 0.8, 0.4, 0.9, 0.9, 0.85, 0.99])
    mean = PadPolicy(threshold=0.5, required=True, aggregate="mean")
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG, pad=mean)
    assert result.passed
    assert result.per_frame[2].pad_flagged
    assert codes(frames, pad=replace(mean, frame_floor=0.45)) == (LivenessReason.PAD_ATTACK_SUSPECTED,)
    low = with_pad([0.3, 0.3, 0.4, 0.3, 0.9, 0.3, 0.3])
    assert codes(low, pad=mean) == (LivenessReason.PAD_ATTACK_SUSPECTED,)


def test_required_pad_without_scores_fails_as_unavailable() -> None:
    assert codes(submission(CHALLENGE), pad=PadPolicy(threshold=0.5, required=True)) == (
        LivenessReason.PAD_UNAVAILABLE,)
    partial = with_pad([0.9, 0.9, None, 0.9, 0.9, 0.9, 0.9])
    assert codes(partial, pad=PadPolicy(threshold=0.5, required=True)) == (LivenessReason.PAD_UNAVAILABLE,)


def test_optional_pad_without_scores_passes_on_the_active_check_and_says_pad_did_not_run() -> None:
    result = evaluate(CHALLENGE, submission(CHALLENGE), NOW, config=CONFIG,
                      pad=PadPolicy(threshold=0.5, required=False))
    assert result.passed
    assert result.pad_ran is False
    assert result.aggregate_score is None


def test_all_failures_are_recorded_in_check_order_and_the_first_is_primary() -> None:
    frames = with_frame(submission(CHALLENGE), 3, nonce="ff" * 16, embedding=embedding_of(PERSON_B, 3))
    result = evaluate(CHALLENGE, frames, CHALLENGE.deadline.replace(microsecond=5), config=CONFIG,
                      pad=PadPolicy(threshold=0.5, required=True))
    assert result.reason_codes == (LivenessReason.NONCE_MISMATCH, LivenessReason.DEADLINE_PASSED,
                                   LivenessReason.IDENTITY_CHANGED, LivenessReason.PAD_UNAVAILABLE)
    assert result.primary_reason == "liveness_nonce_mismatch"


def test_no_frames_at_all_fail_on_count_and_sequence() -> None:
    result = evaluate(CHALLENGE, [], NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.FRAME_COUNT, LivenessReason.POSE_SEQUENCE)
    assert result.selfie_index is None
    assert result.selfie_embedding is None


@pytest.mark.parametrize(("yaw", "pitch", "mirrored", "expected"), [
    (0.3, 0.0, False, L), (-0.3, 0.0, False, R), (0.3, 0.0, True, R), (-0.3, 0.0, True, L),
    (0.0, 0.2, False, U), (0.0, -0.2, False, D), (0.05, 0.05, False, C),
    (0.17, 0.0, False, None), (0.0, 0.13, False, None),
    (0.30, 0.30, False, U), (0.40, 0.18, False, L),  # the axis furthest past its threshold wins
])
def test_pose_classes(yaw: float, pitch: float, mirrored: bool, expected: Pose | None) -> None:
    assert classify_pose(HeadPose(yaw=yaw, pitch=pitch), mirrored, PoseThresholds()) is expected


def test_embeddings_from_another_model_cannot_prove_identity() -> None:
    frames = with_frame(submission(CHALLENGE), 2, embedding=embedding_of((1.0, 0.0, 0.0, 0.0), 2, "other-model"))
    assert codes(frames) == (LivenessReason.IDENTITY_CHANGED,)
