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
import hmac
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from idverify.domain.face import Embedding
from idverify.domain.ports import Clock, Random
from idverify.factors import continuity
from idverify.factors.continuity import ContinuityConfig, Track
from idverify.factors.head_pose import HeadPose
from idverify.factors.light_challenge import LightConfig, LightSample, LightStep, draw_sequence, evaluate_light

NONCE_BYTES = 16  # 128 bits


class Pose(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"
    CENTRE = "centre"


DIRECTIONS: tuple[Pose, ...] = (Pose.LEFT, Pose.RIGHT, Pose.UP, Pose.DOWN)

#: Text shown to the applicant for each step, zh-CN and en.
GUIDANCE: dict[Pose, dict[str, str]] = {
    Pose.LEFT: {"zh-CN": "请缓慢向左转头", "en": "Slowly turn your head to your left"},
    Pose.RIGHT: {"zh-CN": "请缓慢向右转头", "en": "Slowly turn your head to your right"},
    Pose.UP: {"zh-CN": "请缓慢抬头", "en": "Slowly tilt your head up"},
    Pose.DOWN: {"zh-CN": "请缓慢低头", "en": "Slowly tilt your head down"},
    Pose.CENTRE: {"zh-CN": "请正视镜头", "en": "Look straight at the camera"},
}


class LivenessReason(StrEnum):
    """Stable reason codes, in the order they are checked (the first one found is the primary reason)."""

    NONCE_MISMATCH = "liveness_nonce_mismatch"
    DEADLINE_PASSED = "liveness_deadline_passed"
    FRAME_COUNT = "liveness_frame_count"
    NO_FACE = "liveness_no_face"
    MULTIPLE_FACES = "liveness_multiple_faces"
    MIRRORED_INCONSISTENT = "liveness_mirrored_inconsistent"
    STATIC_OR_REPLAYED = "liveness_static_or_replayed"
    SEQUENCE = "liveness_sequence"
    TIMING = "liveness_timing"
    DISCONTINUOUS = "liveness_discontinuous"
    GEOMETRY = "liveness_geometry"
    POSE_SEQUENCE = "liveness_pose_sequence"
    LIGHT_CHALLENGE = "liveness_light_challenge"
    IDENTITY_CHANGED = "liveness_identity_changed"
    CAPTURE_SIGNATURE = "liveness_capture_signature"
    ATTESTATION_FAILED = "liveness_attestation_failed"
    PAD_UNAVAILABLE = "pad_unavailable"
    PAD_ATTACK_SUSPECTED = "pad_attack_suspected"


_TRY_AGAIN = ("活体检测未通过,请重新开始。", "The liveness check did not pass. Please start again.")

#: Applicant-facing text per reason code, (zh-CN, en), in the format of ``idverify.domain.messages``. Codes that
#: would coach an attacker (replay, identity, PAD, nonce) get the same generic text; operators read the code.
REASON_TEXTS: dict[str, tuple[str, str]] = {
    LivenessReason.NONCE_MISMATCH: _TRY_AGAIN,
    LivenessReason.DEADLINE_PASSED: ("动作超时,请重新开始。", "Time ran out. Please start again."),
    LivenessReason.FRAME_COUNT: ("拍摄不完整,请重新开始。", "The capture was incomplete. Please start again."),
    LivenessReason.NO_FACE: ("未检测到人脸,请保持面部在画面中。", "No face was found. Keep your face in view."),
    LivenessReason.MULTIPLE_FACES: ("画面中有多张人脸,请单独拍摄。",
                                    "More than one face is visible. Please be alone in view."),
    LivenessReason.MIRRORED_INCONSISTENT: _TRY_AGAIN,
    LivenessReason.STATIC_OR_REPLAYED: _TRY_AGAIN,
    LivenessReason.SEQUENCE: _TRY_AGAIN,
    LivenessReason.TIMING: _TRY_AGAIN,
    LivenessReason.DISCONTINUOUS: ("请保持手机稳定,在一次拍摄中完成所有动作。",
                                   "Hold the phone steady and do every step in one go."),
    LivenessReason.GEOMETRY: _TRY_AGAIN,
    LivenessReason.LIGHT_CHALLENGE: ("请正对屏幕,保持面部被屏幕照亮。",
                                     "Keep your face towards the screen so its light falls on your face."),
    LivenessReason.CAPTURE_SIGNATURE: _TRY_AGAIN,
    LivenessReason.ATTESTATION_FAILED: _TRY_AGAIN,
    LivenessReason.POSE_SEQUENCE: ("请按提示的顺序缓慢转头。", "Please turn your head slowly, in the order shown."),
    LivenessReason.IDENTITY_CHANGED: _TRY_AGAIN,
    LivenessReason.PAD_UNAVAILABLE: ("系统繁忙,请稍后重试。", "The service is busy. Please try again shortly."),
    LivenessReason.PAD_ATTACK_SUSPECTED: _TRY_AGAIN,
}


@dataclass(frozen=True, slots=True)
class PoseThresholds:
    """Pose classes in head_pose ratio units (calibration: docs/reports/head-pose-calibration.md).

    A frame is a turn when ``|yaw| >= turn_yaw``, up when ``pitch >= up_pitch``, down when
    ``pitch <= -down_pitch`` (the axis furthest past its threshold wins), centre when ``|yaw| <= centre_yaw`` and
    ``|pitch| <= centre_pitch``, and none of these in between.
    """

    turn_yaw: float = 0.25
    centre_yaw: float = 0.12
    up_pitch: float = 0.16
    down_pitch: float = 0.16
    centre_pitch: float = 0.12

    def __post_init__(self) -> None:
        if not 0 < self.centre_yaw < self.turn_yaw or not 0 < self.centre_pitch < min(self.up_pitch,
                                                                                      self.down_pitch):
            raise ValueError("pose thresholds: centre bands must be positive and inside the turn thresholds")


@dataclass(frozen=True, slots=True)
class LivenessConfig:
    """Limits of the active challenge. ``same_person_threshold`` is the face matcher's cosine threshold."""

    same_person_threshold: float
    min_steps: int = 2
    max_steps: int = 4
    ttl_s: float = 60.0
    min_frames: int = 24
    max_frames: int = 128
    duplicate_max_thumbnail_mad: float = 0.5
    duplicate_max_landmark_shift: float = 0.001
    poses: PoseThresholds = field(default_factory=PoseThresholds)
    continuity: ContinuityConfig = field(default_factory=ContinuityConfig)
    light: LightConfig = field(default_factory=LightConfig)
    #: Also check the light sequence (off only for tests of the head-pose logic alone).
    light_required: bool = True

    def __post_init__(self) -> None:
        if not 2 <= self.min_steps <= self.max_steps <= 6:
            raise ValueError("liveness steps: need 2 <= min_steps <= max_steps <= 6")
        if not 0 < self.ttl_s <= 600:
            raise ValueError("liveness ttl_s must be in (0, 600]")
        if not 1 <= self.min_frames <= self.max_frames <= 128 or self.max_frames < self.max_steps:
            raise ValueError("liveness frames: need 1 <= min_frames <= max_frames <= 128, max_frames >= max_steps")
        if not -1.0 < self.same_person_threshold < 1.0:
            raise ValueError("same_person_threshold must be a cosine in (-1, 1)")


@dataclass(frozen=True, slots=True)
class PadPolicy:
    """How passive PAD scores (probability that a frame is a live face) enter the decision.

    ``aggregate="min"`` (default, fail closed): the weakest frame decides. ``"mean"`` averages the frames and
    ``frame_floor`` (if set) still fails any single frame below it. Frames below ``threshold`` are flagged in
    ``per_frame`` either way. ``required``: without scores the challenge fails (``pad_unavailable``);
    otherwise it passes on the active check alone and the result says ``pad_ran=False``.
    """

    threshold: float
    required: bool
    aggregate: Literal["min", "mean"] = "min"
    frame_floor: float | None = None


@dataclass(frozen=True, slots=True)
class ChallengeStep:
    pose: Pose
    guidance: dict[str, str] = field(hash=False, compare=True)


@dataclass(frozen=True, slots=True)
class Challenge:
    """What the applicant must do, and until when. ``nonce`` (hex, 128 bits) must come back with every frame.

    ``light``: the screen colours to show first. ``mirrored``: declared by the client at the start.
    ``capture_key``: the client's public JWK (JSON text) when it registered one; frames must then be signed.
    """

    session_id: str
    nonce: str
    steps: tuple[ChallengeStep, ...]
    issued_at: datetime
    deadline: datetime
    light: tuple[LightStep, ...] = ()
    mirrored: bool = False
    capture_key: str | None = field(default=None, repr=False)

    @property
    def poses(self) -> tuple[Pose, ...]:
        return tuple(step.pose for step in self.steps)


@dataclass(frozen=True, slots=True)
class FrameObservation:
    """What the adapter saw in one submitted frame. No pixels: a digest and a tiny thumbnail for replay checks.

    ``captured_at_ms``: the client's capture time. ``mirrored``: the client says the frame is mirrored.
    ``pose``: image-space pose of the face (None when not exactly one face or unmeasurable). ``landmarks``: ten
    numbers, x/y of eyes, nose, mouth corners (image-left first), in pixels. ``thumbnail``: small grayscale of the
    whole frame, one byte per pixel, the same size for every frame. ``pad_live_score``: passive PAD, if it ran.
    """

    captured_at_ms: int
    nonce: str
    face_count: int
    mirrored: bool | None = None
    pose: HeadPose | None = None
    embedding: Embedding | None = None
    landmarks: tuple[float, ...] | None = None
    digest: bytes = b""
    thumbnail: bytes = b""
    pad_live_score: float | None = None
    sequence: int = 0
    light_step: int = 0
    box: tuple[float, float, float, float] | None = None
    background: bytes = b""
    face_rgb: tuple[float, float, float] | None = None
    background_rgb: tuple[float, float, float] | None = None

    def __repr__(self) -> str:  # never show the embedding or thumbnail
        return (f"FrameObservation(t={self.captured_at_ms}, faces={self.face_count}, pose={self.pose}, "
                f"pad={self.pad_live_score})")


@dataclass(frozen=True, slots=True)
class SubmittedFrame:
    """One frame as the client sent it: encoded image bytes, capture time (client clock, ms), the challenge nonce,
    whether the client mirrored the pixels (None when the frame does not say; the challenge's declaration holds),
    its sequence number, the light step on screen, and its capture-key signature (empty when none)."""

    image: bytes = field(repr=False)
    captured_at_ms: int
    nonce: str = field(repr=False)
    mirrored: bool | None = None
    sequence: int = 0
    light_step: int = 0
    signature: bytes = field(default=b"", repr=False)


class AttestationVerdict(StrEnum):
    """A platform attestation's verdict as the adapter judged it."""

    GENUINE = "genuine"  # the platform vouches for the app and device
    FAILED = "failed"  # the platform says the app or device is not genuine, or the token does not verify


@dataclass(frozen=True, slots=True)
class CaptureEvidence:
    """Evidence about the capture from outside the pixels. ``signed``: None when no capture key was registered,
    else whether every frame's signature verified. ``attestation``: None when none was presented."""

    signed: bool | None = None
    attestation: AttestationVerdict | None = None


class FrameObserver(Protocol):
    """Turns submitted frames into observations (decode, detect, embed, pose, optional PAD), in order."""

    def observe(self, frames: Sequence[SubmittedFrame]) -> list[FrameObservation]: ...


@dataclass(frozen=True, slots=True)
class FrameVerdict:
    index: int
    pose: Pose | None
    applicant_yaw: float | None
    pitch: float | None
    similarity: float | None
    duplicate_of: int | None
    pad_live_score: float | None
    pad_flagged: bool


@dataclass(frozen=True, slots=True)
class LivenessResult:
    """The decision. ``reason_codes`` in check order, empty when passed. ``aggregate_score`` is the PAD
    aggregate (``PadPolicy.aggregate``) when PAD ran, else None. The selfie is the last centre frame."""

    passed: bool
    reason_codes: tuple[str, ...]
    per_frame: tuple[FrameVerdict, ...]
    selfie_index: int | None
    selfie_embedding: Embedding | None = field(repr=False)
    steps_reached: int
    min_similarity: float | None
    pad_ran: bool
    aggregate_score: float | None
    #: What ran and passed: "continuity", "light", "capture_key", "attestation", "pad" (see docs/liveness.md).
    evidence: tuple[str, ...] = ()
    light_correlation: float | None = None

    @property
    def primary_reason(self) -> str | None:
        return self.reason_codes[0] if self.reason_codes else None


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
    if any(not _same_nonce(f.nonce, challenge.nonce) for f in frames):
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
    duplicates = _duplicates(frames, config)
    if any(d is not None for d in duplicates):
        reasons.append(LivenessReason.STATIC_OR_REPLAYED)
    tracks = [_track(f) for f in frames]
    capture_reasons = continuity.check_timing(tracks, challenge.issued_at, now, config.continuity)
    capture_reasons += continuity.check_continuity(tracks, config.continuity)
    mirrored = challenge.mirrored
    classes = [classify_pose(f.pose, mirrored, config.poses) if _one_face(f) and f.pose else None
               for f in frames]
    frontal = [i for i, c in enumerate(classes) if c is Pose.CENTRE]
    turned = [i for i, c in enumerate(classes) if c in (Pose.LEFT, Pose.RIGHT)]
    capture_reasons += continuity.check_rigid(tracks, frontal, turned, config.continuity)
    reasons.extend(LivenessReason(code) for code in capture_reasons)
    reached, sequence_ok = _match_sequence(classes, challenge.poses)
    if not sequence_ok:
        reasons.append(LivenessReason.POSE_SEQUENCE)
    light_ran, light_correlation = False, None
    if challenge.light and config.light_required:
        samples = [LightSample(f.light_step, f.face_rgb, f.background_rgb) for f in frames
                   if f.face_rgb is not None and f.background_rgb is not None and _one_face(f)]
        light = evaluate_light(challenge.light, samples, config.light)
        light_ran, light_correlation = True, light.correlation
        if not light.passed:
            reasons.append(LivenessReason.LIGHT_CHALLENGE)
    selfie = next((i for i in reversed(range(len(frames))) if classes[i] is Pose.CENTRE and frames[i].embedding),
                  None)
    similarities = _similarities(frames, selfie)
    embedded = [s for f, s in zip(frames, similarities, strict=True) if _one_face(f) and f.embedding]
    if not embedded or any(s is None or s < config.same_person_threshold for s in embedded):
        reasons.append(LivenessReason.IDENTITY_CHANGED)
    if challenge.capture_key is not None and evidence.signed is not True:
        reasons.append(LivenessReason.CAPTURE_SIGNATURE)
    if evidence.attestation is AttestationVerdict.FAILED:
        reasons.append(LivenessReason.ATTESTATION_FAILED)
    pad_ran, aggregate, flagged, pad_reason = _pad(frames, pad)
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


def _track(frame: FrameObservation) -> Track:
    one = _one_face(frame)
    return Track(sequence=frame.sequence, captured_at_ms=frame.captured_at_ms,
                 box=frame.box if one else None, landmarks=frame.landmarks if one else None,
                 background=frame.background, yaw=frame.pose.yaw if one and frame.pose else None,
                 pitch=frame.pose.pitch if one and frame.pose else None)


def _same_nonce(got: str, want: str) -> bool:
    return hmac.compare_digest(got.encode("utf-8"), want.encode("utf-8"))


def _one_face(frame: FrameObservation) -> bool:
    return frame.face_count == 1


def _duplicates(frames: Sequence[FrameObservation], config: LivenessConfig) -> list[int | None]:
    """For each frame, the index of an earlier frame it duplicates, or None. Same bytes anywhere, or the same
    picture re-encoded (landmarks and thumbnail both practically identical); a still applicant in a real capture
    moves the landmarks by more than that between frames."""
    out: list[int | None] = [None] * len(frames)
    seen: dict[bytes, int] = {}
    for j, later in enumerate(frames):
        if later.digest and later.digest in seen:
            out[j] = seen[later.digest]
            continue
        if later.digest:
            seen[later.digest] = j
        for i in range(j):
            if _is_duplicate(frames[i], later, config):
                out[j] = i
                break
    return out


def _is_duplicate(a: FrameObservation, b: FrameObservation, config: LivenessConfig) -> bool:
    if not (a.landmarks and b.landmarks and len(a.landmarks) == len(b.landmarks) == 10):
        return False
    scale = math.hypot(a.landmarks[2] - a.landmarks[0], a.landmarks[3] - a.landmarks[1])
    shift = max(abs(x - y) for x, y in zip(a.landmarks, b.landmarks, strict=True))
    if scale <= 0 or shift / scale > config.duplicate_max_landmark_shift:
        return False
    if not a.thumbnail or len(a.thumbnail) != len(b.thumbnail):
        return True
    mad = sum(abs(x - y) for x, y in zip(a.thumbnail, b.thumbnail, strict=True)) / len(a.thumbnail)
    return mad <= config.duplicate_max_thumbnail_mad


def _match_sequence(classes: Sequence[Pose | None], asked: Sequence[Pose]) -> tuple[int, bool]:
    """(asked poses shown in order, whether the whole sequence was shown with no pose that was not asked)."""
    reached = 0
    previous: Pose | None = None
    for pose in classes:
        if pose is None or pose == previous:
            continue
        previous = pose
        if reached < len(asked) and pose == asked[reached]:
            reached += 1
        elif pose is not Pose.CENTRE and not (reached > 0 and pose == asked[reached - 1]):
            return reached, False
    return reached, reached == len(asked)


def _similarities(frames: Sequence[FrameObservation], selfie: int | None) -> list[float | None]:
    order = ([selfie] if selfie is not None else []) + list(range(len(frames)))  # the selfie, else the first
    reference = next((frames[i].embedding for i in order if _one_face(frames[i]) and frames[i].embedding), None)
    if reference is None:
        return [None] * len(frames)
    return [_cosine(f.embedding, reference) if _one_face(f) and f.embedding else None for f in frames]


def _cosine(a: Embedding, b: Embedding) -> float | None:
    try:
        return a.cosine(b)
    except ValueError:  # different embedder models: no evidence of the same person
        return None


def _pad(frames: Sequence[FrameObservation], policy: PadPolicy | None
         ) -> tuple[bool, float | None, list[bool], LivenessReason | None]:
    """(pad_ran, aggregate, per-frame flags, reason). PAD ran when every embedded one-face frame carries a score
    (the adapter embeds and scores a sample of the frames, always including the last frontal ones)."""
    faces = [f for f in frames if _one_face(f) and f.embedding is not None]  # the frames the adapter scored
    flagged = [False] * len(frames)
    if policy is None:
        return False, None, flagged, None
    scores = [f.pad_live_score for f in faces]
    if not faces or any(s is None for s in scores):
        return False, None, flagged, LivenessReason.PAD_UNAVAILABLE if policy.required else None
    present = [s for s in scores if s is not None]
    flagged = [f.pad_live_score is not None and f.pad_live_score < policy.threshold for f in frames]
    aggregate = min(present) if policy.aggregate == "min" else math.fsum(present) / len(present)
    attack = aggregate < policy.threshold or (
        policy.frame_floor is not None and min(present) < policy.frame_floor)
    return True, aggregate, flagged, LivenessReason.PAD_ATTACK_SUSPECTED if attack else None
