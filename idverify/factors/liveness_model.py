"""Liveness values: poses and their guidance, reason codes and texts, limits, challenges, frames and results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from idverify.domain.face import Embedding
from idverify.factors.continuity import ContinuityConfig
from idverify.factors.head_pose import HeadPose
from idverify.factors.light_challenge import LightConfig, LightStep

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
