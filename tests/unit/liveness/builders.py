"""Valid synthetic captures for a challenge, which each test then breaks in exactly one way.

A capture here is what the adapter would report for one continuous recording of a rigid head: 15 frames a second,
the light steps first (frontal, the face's colour following the screen's), then a gradual move through each asked
pose and back, with a face box that narrows as the head turns and a steady background.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from idverify.domain.face import Embedding
from idverify.factors.head_pose import estimate_head_pose
from idverify.factors.light_challenge import LightStep
from idverify.factors.liveness import (
    GUIDANCE,
    Challenge,
    ChallengeStep,
    FrameObservation,
    LivenessConfig,
    Pose,
    start_challenge,
)
from tests.fakes import FixedClock, SeededRandom
from tests.unit.liveness.geometry import face_landmarks, flat

CONFIG = LivenessConfig(same_person_threshold=0.4)
INTERVAL_MS = 66

#: A clear example of each pose (degrees of yaw to the applicant's left, pitch up).
POSE_ANGLES: dict[Pose, tuple[float, float]] = {
    Pose.LEFT: (40.0, 0.0),
    Pose.RIGHT: (-40.0, 0.0),
    Pose.UP: (0.0, 30.0),
    Pose.DOWN: (0.0, -30.0),
    Pose.CENTRE: (0.0, 0.0),
}

PERSON_A = (1.0, 0.0, 0.0, 0.0)
PERSON_B = (0.0, 1.0, 0.0, 0.0)
BACKGROUND = bytes((i * 7) % 200 + 20 for i in range(256))
BACKGROUND_RGB = (90.0, 100.0, 110.0)


def embedding_of(person: tuple[float, ...], n: int, model_id: str = "test-embedder") -> Embedding:
    """The person's template plus a little per-frame variation (cosine to the template stays above 0.99)."""
    return Embedding(tuple(v + 0.01 * ((n * 7 + i * 3) % 5) for i, v in enumerate(person)), model_id)


def lit_face(step: LightStep | None, gain: float = 0.25) -> tuple[float, float, float]:
    """Skin colour under a screen colour: the screen adds ``gain`` of its colour relative to white."""
    base = (170.0, 130.0, 110.0)
    if step is None:
        return base
    return tuple(v * (1.0 + gain * (c - 1.0)) for v, c in zip(base, step.channels, strict=True))  # type: ignore[return-value]


def start_ms(challenge: Challenge) -> int:
    return int(challenge.issued_at.timestamp() * 1000) + 1_500


def observation(challenge: Challenge, n: int, yaw_deg: float, pitch_deg: float, *, t_ms: int,
                light_step: int = 0, mirrored: bool = False, person: tuple[float, ...] = PERSON_A,
                face_rgb: tuple[float, float, float] | None = None) -> FrameObservation:
    """Frame ``n`` of a capture: a rigid head at (yaw, pitch) degrees, a box that narrows as it turns."""
    shake = (0.6 * math.sin(n * 1.7), 0.4 * math.cos(n * 1.3))
    centre = (320.0 + shake[0], 240.0 + shake[1])
    landmarks = face_landmarks(yaw_deg, pitch_deg, mirrored=mirrored, centre=centre)
    width = 60.0 * 2.2 * (0.35 + 0.65 * math.cos(math.radians(yaw_deg)))
    height = 60.0 * 2.6
    box = (centre[0] - width / 2, centre[1] - 0.4 * height, width, height)
    step = challenge.light[light_step - 1] if 1 <= light_step <= len(challenge.light) else None
    return FrameObservation(
        captured_at_ms=t_ms,
        nonce=challenge.nonce,
        face_count=1,
        mirrored=None,
        pose=estimate_head_pose(landmarks),
        embedding=embedding_of(person, n),
        landmarks=flat(landmarks),
        digest=hashlib.sha256(f"frame-{n}".encode()).digest(),
        thumbnail=bytes((n * 37 + i * 11) % 256 for i in range(64)),
        sequence=n,
        light_step=light_step,
        box=box,
        background=bytes((b + n % 3) % 256 for b in BACKGROUND),
        face_rgb=face_rgb or lit_face(step),
        background_rgb=BACKGROUND_RGB,
    )


def asked_path(challenge: Challenge) -> list[Pose]:
    """Start frontal, then each asked pose, coming back to the centre between turns."""
    poses: list[Pose] = []
    for pose in challenge.poses:
        if pose is not Pose.CENTRE and poses and poses[-1] is not Pose.CENTRE:
            poses.append(Pose.CENTRE)
        poses.append(pose)
    return poses


def capture(challenge: Challenge, poses: Sequence[Pose] | None = None, *, mirrored: bool = False,
            person: tuple[float, ...] = PERSON_A, frames_per_move: int = 6, hold: int = 2,
            light_frames: int = 3) -> list[FrameObservation]:
    """A whole continuous capture: light steps (frontal), then a gradual move through ``poses`` (default: the
    asked ones), holding each for ``hold`` frames."""
    frames: list[FrameObservation] = []
    t = start_ms(challenge)

    def add(yaw: float, pitch: float, light_step: int = 0) -> None:
        nonlocal t
        frames.append(observation(challenge, len(frames), yaw, pitch, t_ms=t, light_step=light_step,
                                  mirrored=mirrored, person=person))
        t += INTERVAL_MS

    for step in range(1, len(challenge.light) + 1):
        for _ in range(light_frames):
            add(0.0, 0.0, step)
    current = (0.0, 0.0)
    for pose in poses if poses is not None else asked_path(challenge):
        target = POSE_ANGLES[pose]
        for k in range(1, frames_per_move + 1):
            s = k / frames_per_move
            add(current[0] + (target[0] - current[0]) * s, current[1] + (target[1] - current[1]) * s)
        for _ in range(hold):
            add(*target)
        current = target
    return frames


def submission(challenge: Challenge, *, mirrored: bool = False) -> list[FrameObservation]:
    return capture(challenge, mirrored=mirrored)


def a_moment_later(challenge: Challenge, seconds: float = 20.0) -> datetime:
    return challenge.issued_at + timedelta(seconds=seconds)


def challenge_for(*poses: Pose, seed: int = 3, mirrored: bool = False, capture_key: str | None = None) -> Challenge:
    """A real challenge from start_challenge, with its steps replaced by the ones a test needs."""
    issued = start_challenge("session-1", FixedClock(), SeededRandom(seed), CONFIG, mirrored=mirrored,
                             capture_key=capture_key)
    return replace(issued, steps=tuple(ChallengeStep(p, dict(GUIDANCE[p])) for p in poses))


def with_frame(frames: list[FrameObservation], index: int, **changes: object) -> list[FrameObservation]:
    out = list(frames)
    out[index] = replace(out[index], **changes)  # type: ignore[arg-type]
    return out


def retimed(frames: Sequence[FrameObservation], times: Sequence[int]) -> list[FrameObservation]:
    return [replace(f, captured_at_ms=t) for f, t in zip(frames, times, strict=True)]
