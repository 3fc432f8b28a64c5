"""Active liveness: a server-chosen sequence of head poses, checked on per-frame face observations.

Standard library only. The adapter (:mod:`idverify.ml.liveness_frames`) turns submitted frames into
:class:`FrameObservation` values; this module issues the challenge and decides.

Design decisions
----------------
* **Poses** on the wire: ``"left"``, ``"right"``, ``"up"``, ``"down"``, ``"centre"``. Left and right are the
  applicant's own left and right (the way "turn your head to the left" / "向左转头" is understood). In an
  unmirrored frame a turn to the applicant's left puts the nose towards the image's right (image yaw > 0, see
  :mod:`idverify.factors.head_pose`); when the client states ``mirrored=True`` (a selfie preview flipped like a
  mirror) the sign is reversed. :func:`applicant_yaw` is that one conversion.
* **Sequence**: 2-4 steps (configurable). All steps but the last are drawn from the four directions with no
  immediate repeat; the **last step is always "centre"**, and the last frontal frame becomes the selfie that is
  later matched against the document. Drawing the middle steps from the directions only gives the most sequences
  per step (4, 12, 36 for 1, 2, 3 directional steps).
* **Order**: frames are classified (left/right/up/down/centre, or none while moving); runs are collapsed. Each
  asked pose must appear in order; centre frames between steps are allowed (people come back to the middle),
  staying in the pose just reached is allowed, but any other pose fails. So a video that sweeps through every
  pose does not pass every challenge.
* **Identity**: every one-face frame is compared with the selfie (fallback: the first one-face frame), because
  the selfie is what the rest of the verification trusts; all must reach ``same_person_threshold``.
* **Replay**: any two frames with the same bytes, an almost identical thumbnail, or identical landmarks mark the
  later one a duplicate. Compared over all pairs, not only neighbours.
* **PAD** (passive presentation-attack detection) is optional: see :class:`PadPolicy`.
* **One capture** (issue 20): frames carry a sequence number and a capture time and must look like one camera
  capture (:mod:`idverify.factors.continuity`); a server-chosen screen-colour sequence must show on the face
  (:mod:`idverify.factors.light_challenge`); ``mirrored`` is declared once, at the challenge's start; frames are
  signed with a per-capture key when the client registered one, and a platform attestation verdict may come with
  the challenge. :attr:`LivenessResult.evidence` says which of these ran and passed; the token carries it.
  The protocol is docs/liveness.md.

Outcomes are values (:class:`LivenessResult` with reason codes, the first one primary); nothing here raises for a
failed challenge. Configuration errors raise ``ValueError`` at start-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from idverify.domain.ports import Clock, Random
from idverify.factors import continuity
from idverify.factors import liveness_checks as checks
from idverify.factors.head_pose import HeadPose
from idverify.factors.light_challenge import LightSample, draw_sequence, evaluate_light
from idverify.factors.liveness_model import (
    DIRECTIONS,
    GUIDANCE,
    NONCE_BYTES,
    REASON_TEXTS,
    AttestationVerdict,
    CaptureEvidence,
    Challenge,
    ChallengeStep,
    FrameObservation,
    FrameObserver,
    FrameVerdict,
    LivenessConfig,
    LivenessReason,
    LivenessResult,
    PadPolicy,
    Pose,
    PoseThresholds,
    SubmittedFrame,
)

__all__ = [
    "BOUND_CAPTURE", "DIRECTIONS", "GUIDANCE", "NONCE_BYTES", "REASON_TEXTS", "STRONG_EVIDENCE", "AttestationVerdict",
    "CaptureEvidence", "Challenge", "ChallengeStep", "FrameObservation", "FrameObserver", "FrameVerdict",
    "LivenessConfig", "LivenessReason", "LivenessResult", "PadPolicy", "Pose", "PoseThresholds", "SubmittedFrame",
    "applicant_yaw", "classify_pose", "evaluate", "frame_message", "start_challenge", "strong_liveness",
]


def start_challenge(session_id: str, clock: Clock, random: Random, config: LivenessConfig, *,
                    mirrored: bool = False, capture_key: str | None = None) -> Challenge:
    """A fresh challenge: random steps ending in centre, a random screen-colour sequence, a 128-bit nonce, and a
    deadline ``ttl_s`` from now."""
    count = config.min_steps + random.randbelow(config.max_steps - config.min_steps + 1)
    poses: list[Pose] = []
    for _ in range(count - 1):
        options = [p for p in DIRECTIONS if not poses or p != poses[-1]]
        poses.append(options[random.randbelow(len(options))])
    poses.append(Pose.CENTRE)
    issued_at = clock.now()
    return Challenge(
        session_id=session_id,
        nonce=random.token_bytes(NONCE_BYTES).hex(),
        steps=tuple(ChallengeStep(p, dict(GUIDANCE[p])) for p in poses),
        issued_at=issued_at,
        deadline=issued_at + timedelta(seconds=config.ttl_s),
        light=draw_sequence(random, config.light),
        mirrored=mirrored,
        capture_key=capture_key,
    )


def frame_message(image: bytes, nonce: str, sequence: int, captured_at_ms: int) -> bytes:
    """The bytes a frame's capture-key signature covers: ``sha256(image) || nonce (ASCII) || sequence (8 bytes
    big-endian) || captured_at_ms (8 bytes big-endian)`` (docs/liveness.md, section 3)."""
    return (hashlib.sha256(image).digest() + nonce.encode("ascii", "replace")
            + sequence.to_bytes(8, "big", signed=True) + captured_at_ms.to_bytes(8, "big", signed=True))


def applicant_yaw(pose: HeadPose, mirrored: bool) -> float:
    """Yaw from the applicant's point of view: positive = turned to their own left."""
    return -pose.yaw if mirrored else pose.yaw


def classify_pose(pose: HeadPose, mirrored: bool, thresholds: PoseThresholds) -> Pose | None:
    """The pose class of one face, or None while between poses."""
    yaw = applicant_yaw(pose, mirrored)
    yaw_excess = abs(yaw) / thresholds.turn_yaw
    pitch_excess = pose.pitch / thresholds.up_pitch if pose.pitch > 0 else -pose.pitch / thresholds.down_pitch
    if max(yaw_excess, pitch_excess) >= 1.0:
        if yaw_excess >= pitch_excess:
            return Pose.LEFT if yaw > 0 else Pose.RIGHT
        return Pose.UP if pose.pitch > 0 else Pose.DOWN
    if abs(yaw) <= thresholds.centre_yaw and abs(pose.pitch) <= thresholds.centre_pitch:
        return Pose.CENTRE
    return None


def evaluate(challenge: Challenge, frames: Sequence[FrameObservation], now: datetime, *,
             config: LivenessConfig, pad: PadPolicy | None = None,
             evidence: CaptureEvidence | None = None) -> LivenessResult:
    """Decide one submission. Every check runs; all failures are recorded, the first being the primary."""
    evidence = evidence or CaptureEvidence()
    reasons: list[LivenessReason] = []
    if any(not checks.same_nonce(f.nonce, challenge.nonce) for f in frames):
        reasons.append(LivenessReason.NONCE_MISMATCH)
    if now > challenge.deadline:
        reasons.append(LivenessReason.DEADLINE_PASSED)
    if not config.min_frames <= len(frames) <= config.max_frames:
        reasons.append(LivenessReason.FRAME_COUNT)
    if any(f.face_count == 0 for f in frames):
        reasons.append(LivenessReason.NO_FACE)
    if any(f.face_count > 1 for f in frames):
        reasons.append(LivenessReason.MULTIPLE_FACES)
    if any(f.mirrored is not None and f.mirrored != challenge.mirrored for f in frames):
        reasons.append(LivenessReason.MIRRORED_INCONSISTENT)
    duplicates = checks.duplicates(frames, config)
    if any(d is not None for d in duplicates):
        reasons.append(LivenessReason.STATIC_OR_REPLAYED)
    tracks = [checks.track(f) for f in frames]
    capture_reasons = continuity.check_timing(tracks, challenge.issued_at, now, config.continuity)
    capture_reasons += continuity.check_continuity(tracks, config.continuity)
    mirrored = challenge.mirrored
    classes = [classify_pose(f.pose, mirrored, config.poses) if checks.one_face(f) and f.pose else None
               for f in frames]
    frontal = [i for i, c in enumerate(classes) if c is Pose.CENTRE]
    turned = [i for i, c in enumerate(classes) if c in (Pose.LEFT, Pose.RIGHT)]
    capture_reasons += continuity.check_rigid(tracks, frontal, turned, config.continuity)
    reasons.extend(LivenessReason(code) for code in capture_reasons)
    reached, sequence_ok = checks.match_sequence(classes, challenge.poses)
    if not sequence_ok:
        reasons.append(LivenessReason.POSE_SEQUENCE)
    light_ran, light_correlation = False, None
    if challenge.light and config.light_required:
        samples = [LightSample(f.light_step, f.face_rgb, f.background_rgb) for f in frames
                   if f.face_rgb is not None and f.background_rgb is not None and checks.one_face(f)]
        light = evaluate_light(challenge.light, samples, config.light)
        light_ran, light_correlation = True, light.correlation
        if not light.passed:
            reasons.append(LivenessReason.LIGHT_CHALLENGE)
    selfie = next((i for i in reversed(range(len(frames))) if classes[i] is Pose.CENTRE and frames[i].embedding),
                  None)
    similarities = checks.similarities(frames, selfie)
    embedded = [s for f, s in zip(frames, similarities, strict=True) if checks.one_face(f) and f.embedding]
    if not embedded or any(s is None or s < config.same_person_threshold for s in embedded):
        reasons.append(LivenessReason.IDENTITY_CHANGED)
    if challenge.capture_key is not None and evidence.signed is not True:
        reasons.append(LivenessReason.CAPTURE_SIGNATURE)
    if evidence.attestation is AttestationVerdict.FAILED:
        reasons.append(LivenessReason.ATTESTATION_FAILED)
    pad_ran, aggregate, flagged, pad_reason = checks.pad(frames, pad)
    if pad_reason is not None:
        reasons.append(pad_reason)
    per_frame = tuple(
        FrameVerdict(
            index=i, pose=classes[i],
            applicant_yaw=applicant_yaw(f.pose, mirrored) if f.pose else None,
            pitch=f.pose.pitch if f.pose else None, similarity=similarities[i], duplicate_of=duplicates[i],
            pad_live_score=f.pad_live_score, pad_flagged=flagged[i],
        )
        for i, f in enumerate(frames)
    )
    known = [s for s in embedded if s is not None]
    passed = not reasons
    return LivenessResult(
        passed=passed,
        reason_codes=tuple(r.value for r in reasons),
        per_frame=per_frame,
        selfie_index=selfie,
        selfie_embedding=frames[selfie].embedding if selfie is not None else None,
        steps_reached=reached,
        min_similarity=min(known) if known else None,
        pad_ran=pad_ran,
        aggregate_score=aggregate,
        evidence=_evidence(passed, light_ran, challenge, evidence, pad_ran) if passed else (),
        light_correlation=light_correlation,
    )


#: The evidence a liveness needs to count as strong (docs/liveness.md, section 7).
STRONG_EVIDENCE = frozenset({"continuity", "light"})
BOUND_CAPTURE = frozenset({"capture_key", "attestation"})


def strong_liveness(evidence: Collection[str]) -> bool:
    """Continuity and the light challenge ran and passed, and the frames were signed by a capture key or the app
    was attested by its platform."""
    have = set(evidence)
    return have >= STRONG_EVIDENCE and bool(BOUND_CAPTURE & have)


def _evidence(passed: bool, light_ran: bool, challenge: Challenge, evidence: CaptureEvidence,
              pad_ran: bool) -> tuple[str, ...]:
    out = ["continuity"] if passed else []
    if light_ran:
        out.append("light")
    if challenge.capture_key is not None and evidence.signed:
        out.append("capture_key")
    if evidence.attestation is AttestationVerdict.GENUINE:
        out.append("attestation")
    if pad_ran:
        out.append("pad")
    return tuple(out)
