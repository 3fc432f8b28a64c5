"""evaluate: every reason code is reachable, and each test breaks a valid capture in exactly one way."""

from __future__ import annotations

from dataclasses import replace

import pytest

from idverify.factors.head_pose import HeadPose
from idverify.factors.light_challenge import LightConfig, LightSample, LightStep, evaluate_light
from idverify.factors.liveness import (
    AttestationVerdict,
    CaptureEvidence,
    FrameObservation,
    LivenessConfig,
    LivenessReason,
    PadPolicy,
    Pose,
    PoseThresholds,
    classify_pose,
    evaluate,
)
from tests.unit.liveness.builders import (
    BACKGROUND_RGB,
    CONFIG,
    PERSON_B,
    a_moment_later,
    capture,
    challenge_for,
    embedding_of,
    lit_face,
    submission,
    with_frame,
)

L, R, U, D, C = Pose.LEFT, Pose.RIGHT, Pose.UP, Pose.DOWN, Pose.CENTRE
CHALLENGE = challenge_for(L, U, R, C)
NOW = a_moment_later(CHALLENGE)


def codes(frames: list[FrameObservation], config: LivenessConfig = CONFIG, pad: PadPolicy | None = None,
          evidence: CaptureEvidence | None = None) -> tuple[str, ...]:
    return evaluate(CHALLENGE, frames, NOW, config=config, pad=pad, evidence=evidence).reason_codes


def light_count() -> int:
    return 3 * len(CHALLENGE.light)


def test_a_complete_capture_passes_says_what_ran_and_its_last_frontal_frame_is_the_selfie() -> None:
    frames = submission(CHALLENGE)
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.passed, result.reason_codes
    assert result.reason_codes == ()
    assert result.primary_reason is None
    assert result.selfie_index == len(frames) - 1
    assert result.selfie_embedding == frames[-1].embedding
    assert result.steps_reached == 4
    assert result.min_similarity is not None
    assert result.min_similarity > 0.99
    assert result.pad_ran is False
    assert result.evidence == ("continuity", "light")
    assert result.light_correlation is not None
    assert result.light_correlation > 0.9
    # The head passes through poses that are neither centre nor a turn on its way.
    assert None in [v.pose for v in result.per_frame]


def test_mirrored_is_declared_once_and_a_frame_that_says_otherwise_fails() -> None:
    challenge = challenge_for(L, U, R, C, mirrored=True)
    mirrored = submission(challenge, mirrored=True)
    assert evaluate(challenge, mirrored, NOW, config=CONFIG).passed
    # The same pixels under an unmirrored declaration read as the opposite turns.
    assert evaluate(CHALLENGE, mirrored, NOW, config=CONFIG).reason_codes == (LivenessReason.POSE_SEQUENCE,)
    flipped = with_frame(mirrored, 10, mirrored=False)
    assert evaluate(challenge, flipped, NOW, config=CONFIG).reason_codes == (
        LivenessReason.MIRRORED_INCONSISTENT,)
    assert evaluate(challenge, with_frame(mirrored, 10, mirrored=True), NOW, config=CONFIG).passed


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
    frames = submission(CHALLENGE)
    n = len(frames)
    assert codes(frames, replace(CONFIG, min_frames=n + 1, max_frames=n + 1)) == (LivenessReason.FRAME_COUNT,)
    assert codes(frames, replace(CONFIG, min_frames=n - 1, max_frames=n - 1)) == (LivenessReason.FRAME_COUNT,)
    assert codes(frames, replace(CONFIG, min_frames=n, max_frames=n)) == ()


def test_a_frame_without_a_face_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 30, face_count=0, pose=None, embedding=None, landmarks=None,
                        box=None, face_rgb=None)
    assert codes(frames) == (LivenessReason.NO_FACE,)


def test_a_frame_with_two_faces_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 30, face_count=2)
    assert codes(frames) == (LivenessReason.MULTIPLE_FACES,)


def test_one_photo_sent_as_every_frame_fails_as_a_replay() -> None:
    photo = submission(CHALLENGE)[0]
    frames = [replace(photo, captured_at_ms=photo.captured_at_ms + 66 * n, sequence=n) for n in range(40)]
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.primary_reason == LivenessReason.STATIC_OR_REPLAYED
    assert LivenessReason.POSE_SEQUENCE in result.reason_codes
    assert [v.duplicate_of for v in result.per_frame][:3] == [None, 0, 0]


def test_a_re_encoded_copy_is_a_replay_but_a_still_applicant_is_not() -> None:
    frames = submission(CHALLENGE)
    copy = with_frame(frames, 40, landmarks=frames[20].landmarks, thumbnail=frames[20].thumbnail)
    assert codes(copy) == (LivenessReason.STATIC_OR_REPLAYED,)
    # Same landmarks, a visibly different picture: not a copy.
    moved = bytes(min(255, b + 2) for b in frames[20].thumbnail)
    assert codes(with_frame(frames, 40, landmarks=frames[20].landmarks, thumbnail=moved)) == ()


TIME_CASES = ["identical", "backwards", "too_fast", "gap_too_long", "too_slow_overall", "in_1970", "in_2200",
              "before_the_challenge", "after_the_server_received_it"]


@pytest.mark.parametrize("case", TIME_CASES)
def test_capture_times_no_camera_produces_fail(case: str) -> None:
    frames = submission(CHALLENGE)
    t = [f.captured_at_ms for f in frames]
    if case == "identical":
        t[20] = t[19]
    elif case == "backwards":
        t[20] = t[19] - 30
    elif case == "too_fast":  # a whole head turn in 1 ms steps after a long pause
        t = t[:10] + [t[9] + 150 + k for k in range(len(t) - 10)]
    elif case == "gap_too_long":
        t = t[:20] + [v + 400 for v in t[20:]]
    elif case == "too_slow_overall":
        t = [t[0] + 150 * k for k in range(len(t))]
    elif case == "in_1970":
        t = [1_000 + 66 * k for k in range(len(t))]
    elif case == "in_2200":
        t = [7_258_118_400_000 + 66 * k for k in range(len(t))]
    elif case == "before_the_challenge":
        t = [v - 10_000 for v in t]
    else:
        t = [v + 30_000 for v in t]  # NOW is 20 s after issue; the frames would end after it
    frames = [replace(f, captured_at_ms=v) for f, v in zip(frames, t, strict=True)]
    assert LivenessReason.TIMING in codes(frames)
    assert codes(frames)[0] == LivenessReason.TIMING


def test_a_sequence_with_a_gap_or_repeat_fails() -> None:
    frames = submission(CHALLENGE)
    assert codes(with_frame(frames, 12, sequence=11)) == (LivenessReason.SEQUENCE,)
    assert codes(with_frame(frames, 12, sequence=13)) == (LivenessReason.SEQUENCE,)


def test_a_collage_of_separate_photos_is_not_one_capture() -> None:
    """Frames spliced in from another shot: the face jumps and the background changes."""
    frames = submission(CHALLENGE)
    spliced = list(frames)
    for i in range(30, 36):
        box = frames[i].box
        assert box is not None
        spliced[i] = replace(frames[i], box=(box[0] + 120, box[1] + 40, box[2] * 1.4, box[3] * 1.4),
                             background=bytes(255 - b for b in frames[i].background))
    assert codes(spliced) == (LivenessReason.DISCONTINUOUS,)


def test_a_background_that_changes_every_frame_is_not_one_capture() -> None:
    frames = submission(CHALLENGE)
    flicker = [replace(f, background=bytes(255 - b for b in f.background) if n % 2 else f.background)
               for n, f in enumerate(frames)]
    assert codes(flicker) == (LivenessReason.DISCONTINUOUS,)


def test_a_head_that_jumps_from_frontal_to_turned_fails() -> None:
    frames = capture(CHALLENGE, frames_per_move=1, hold=3)
    assert codes(frames) == (LivenessReason.DISCONTINUOUS,)


def test_a_turn_that_keeps_the_frontal_outline_fails_as_no_rigid_head() -> None:
    """A photo warped to move the nose: the pose reads as a turn but the face box keeps its frontal shape."""
    frames = submission(CHALLENGE)
    frontal_box = frames[0].box
    assert frontal_box is not None
    flat = [replace(f, box=(f.box[0], f.box[1], frontal_box[2], frontal_box[3])) if f.box else f for f in frames]
    assert codes(flat) == (LivenessReason.GEOMETRY,)


def test_poses_in_another_order_fail() -> None:
    challenge = challenge_for(L, R, C)
    result = evaluate(challenge, capture(challenge, [C, R, C, L, C]), NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.POSE_SEQUENCE,)
    assert result.steps_reached == 0


def test_a_missing_step_fails() -> None:
    result = evaluate(CHALLENGE, capture(CHALLENGE, [C, L, C, U, C, C]), NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.POSE_SEQUENCE,)
    assert result.steps_reached == 2


def test_a_pose_that_was_not_asked_for_fails_even_if_the_asked_ones_follow() -> None:
    challenge = challenge_for(L, R, C)
    frames = capture(challenge, [C, L, C, D, C, R, C])
    assert evaluate(challenge, frames, NOW, config=CONFIG).reason_codes == (LivenessReason.POSE_SEQUENCE,)


def test_a_recording_that_sweeps_through_every_pose_does_not_pass_a_challenge() -> None:
    challenge = challenge_for(R, D, C)
    frames = capture(challenge, [C, L, C, R, C, U, C, D, C])
    assert evaluate(challenge, frames, NOW, config=CONFIG).reason_codes == (LivenessReason.POSE_SEQUENCE,)


def test_a_capture_that_ends_turned_away_fails_and_its_selfie_is_the_last_frontal_frame() -> None:
    challenge = challenge_for(L, R, C)
    frames = capture(challenge, [C, L, C, R, C, L])
    result = evaluate(challenge, frames, NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.POSE_SEQUENCE,)
    assert result.selfie_index is not None
    assert result.per_frame[result.selfie_index].pose is C
    assert result.per_frame[-1].pose is L
    assert all(v.pose is not C for v in result.per_frame[result.selfie_index + 1:])


def test_a_face_that_does_not_follow_the_screen_colours_fails_the_light_challenge() -> None:
    frames = submission(CHALLENGE)
    unlit = [replace(f, face_rgb=(170.0, 130.0, 110.0)) for f in frames]
    assert codes(unlit) == (LivenessReason.LIGHT_CHALLENGE,)


def test_a_capture_made_under_another_colour_sequence_fails_the_light_challenge() -> None:
    other = challenge_for(L, U, R, C, seed=11)
    assert [s.rgb for s in other.light] != [s.rgb for s in CHALLENGE.light]
    replayed = [replace(f, nonce=CHALLENGE.nonce) for f in submission(other)]
    steps = {f.light_step for f in replayed} - {0}
    if len(steps) != len(CHALLENGE.light):  # different lengths: the light steps do not even line up
        assert LivenessReason.LIGHT_CHALLENGE in codes(replayed)
    else:
        assert codes(replayed) == (LivenessReason.LIGHT_CHALLENGE,)


def test_a_tint_over_the_whole_picture_is_not_a_reflection_on_the_face() -> None:
    """A screen held up to the camera: the colour lands on face and background alike."""
    frames = submission(CHALLENGE)
    tinted = [replace(f, background_rgb=tuple(b * (fr / 150.0) for b, fr in  # type: ignore[arg-type]
                                               zip(f.background_rgb or (), f.face_rgb or (), strict=True)))
              for f in frames]
    assert codes(tinted) == (LivenessReason.LIGHT_CHALLENGE,)


def test_a_light_step_with_one_frame_fails() -> None:
    frames = submission(CHALLENGE)
    thin = with_frame(with_frame(frames, 1, light_step=2), 2, light_step=2)
    assert codes(thin) == (LivenessReason.LIGHT_CHALLENGE,)


def test_the_light_check_can_be_switched_off_for_head_pose_tests_only() -> None:
    frames = [replace(f, face_rgb=(170.0, 130.0, 110.0)) for f in submission(CHALLENGE)]
    result = evaluate(CHALLENGE, frames, NOW, config=replace(CONFIG, light_required=False))
    assert result.passed
    assert result.evidence == ("continuity",)


def test_a_registered_capture_key_needs_every_frame_signed() -> None:
    keyed = replace(CHALLENGE, capture_key='{"kty":"EC"}')
    frames = submission(keyed)
    assert evaluate(keyed, frames, NOW, config=CONFIG, evidence=CaptureEvidence(signed=False)).reason_codes == (
        LivenessReason.CAPTURE_SIGNATURE,)
    assert evaluate(keyed, frames, NOW, config=CONFIG).reason_codes == (LivenessReason.CAPTURE_SIGNATURE,)
    signed = evaluate(keyed, frames, NOW, config=CONFIG, evidence=CaptureEvidence(signed=True))
    assert signed.passed
    assert signed.evidence == ("continuity", "light", "capture_key")


def test_an_attestation_verdict_becomes_evidence_or_a_failure() -> None:
    frames = submission(CHALLENGE)
    genuine = evaluate(CHALLENGE, frames, NOW, config=CONFIG,
                       evidence=CaptureEvidence(attestation=AttestationVerdict.GENUINE))
    assert genuine.evidence == ("continuity", "light", "attestation")
    assert codes(frames, evidence=CaptureEvidence(attestation=AttestationVerdict.FAILED)) == (
        LivenessReason.ATTESTATION_FAILED,)


def test_a_frame_of_another_person_fails() -> None:
    frames = with_frame(submission(CHALLENGE), 3, embedding=embedding_of(PERSON_B, 3))
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.IDENTITY_CHANGED,)
    assert result.per_frame[3].similarity is not None
    assert result.per_frame[3].similarity < 0.4


def test_a_selfie_of_another_person_after_the_turns_fails() -> None:
    frames = submission(CHALLENGE)
    assert codes(with_frame(frames, len(frames) - 1, embedding=embedding_of(PERSON_B, 6))) == (
        LivenessReason.IDENTITY_CHANGED,)


def test_frames_without_embeddings_are_not_judged_but_no_embedding_at_all_proves_nothing() -> None:
    frames = submission(CHALLENGE)
    sampled = [f if n % 8 == 0 or n >= len(frames) - 3 else replace(f, embedding=None)
               for n, f in enumerate(frames)]
    assert codes(sampled) == ()
    none = [replace(f, embedding=None) for f in frames]
    assert codes(none) == (LivenessReason.IDENTITY_CHANGED,)


def test_similarity_just_at_the_threshold_passes() -> None:
    frames = submission(CHALLENGE)
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG)
    assert result.min_similarity is not None
    assert evaluate(CHALLENGE, frames, NOW, config=replace(CONFIG, same_person_threshold=result.min_similarity)).passed
    assert codes(frames, replace(CONFIG, same_person_threshold=result.min_similarity + 1e-6)) == (
        LivenessReason.IDENTITY_CHANGED,)


def with_pad(scores: dict[int, float | None], default: float | None = 0.9) -> list[FrameObservation]:
    return [replace(f, pad_live_score=scores.get(n, default)) for n, f in enumerate(submission(CHALLENGE))]


def test_pad_scores_above_the_threshold_pass_and_the_result_says_pad_ran() -> None:
    result = evaluate(CHALLENGE, with_pad({5: 0.8}), NOW, config=CONFIG, pad=PadPolicy(threshold=0.5, required=True))
    assert result.passed
    assert result.pad_ran
    assert result.aggregate_score == pytest.approx(0.8)
    assert "pad" in result.evidence


def test_one_frame_below_the_pad_threshold_fails_with_the_default_min_aggregate() -> None:
    result = evaluate(CHALLENGE, with_pad({2: 0.2}), NOW, config=CONFIG, pad=PadPolicy(threshold=0.5, required=False))
    assert result.reason_codes == (LivenessReason.PAD_ATTACK_SUSPECTED,)
    assert [n for n, v in enumerate(result.per_frame) if v.pad_flagged] == [2]


def test_mean_aggregate_tolerates_one_weak_frame_unless_it_is_below_the_floor() -> None:
    frames = with_pad({2: 0.4})
    mean = PadPolicy(threshold=0.5, required=True, aggregate="mean")
    result = evaluate(CHALLENGE, frames, NOW, config=CONFIG, pad=mean)
    assert result.passed
    assert result.per_frame[2].pad_flagged
    assert codes(frames, pad=replace(mean, frame_floor=0.45)) == (LivenessReason.PAD_ATTACK_SUSPECTED,)
    assert codes(with_pad({}, default=0.3), pad=mean) == (LivenessReason.PAD_ATTACK_SUSPECTED,)


def test_required_pad_without_scores_fails_as_unavailable() -> None:
    assert codes(submission(CHALLENGE), pad=PadPolicy(threshold=0.5, required=True)) == (
        LivenessReason.PAD_UNAVAILABLE,)
    assert codes(with_pad({2: None}), pad=PadPolicy(threshold=0.5, required=True)) == (LivenessReason.PAD_UNAVAILABLE,)


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
    assert result.evidence == ()


def test_no_frames_at_all_fail() -> None:
    result = evaluate(CHALLENGE, [], NOW, config=CONFIG)
    assert result.reason_codes == (LivenessReason.FRAME_COUNT, LivenessReason.POSE_SEQUENCE,
                                   LivenessReason.LIGHT_CHALLENGE, LivenessReason.IDENTITY_CHANGED)
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


def test_a_capture_whose_colours_correlate_but_do_not_match_step_by_step_fails() -> None:
    """Yellow where red was asked and cyan where green was: the pattern correlates, the colours do not match."""
    asked = (LightStep(0xFFFFFF, 400), LightStep(0xFF0000, 400), LightStep(0x00FF00, 400), LightStep(0x0000FF, 400),
             LightStep(0xFF00FF, 400))
    shown = (LightStep(0xFFFFFF, 400), LightStep(0xFFFF00, 400), LightStep(0x00FFFF, 400), LightStep(0x0000FF, 400),
             LightStep(0xFF00FF, 400))
    samples = [LightSample(i, lit_face(step), BACKGROUND_RGB) for i, step in enumerate(shown, start=1)
               for _ in range(3)]
    verdict = evaluate_light(asked, samples, LightConfig())
    assert verdict.correlation is not None
    assert verdict.correlation >= LightConfig().min_correlation
    assert not verdict.passed
    assert verdict.reason == "wrong_colours"
    assert evaluate_light(shown, samples, LightConfig()).passed
