"""Valid synthetic submissions for a challenge, which each test then breaks in exactly one way."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

from idverify.domain.face import Embedding
from idverify.factors.head_pose import estimate_head_pose
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


def embedding_of(person: tuple[float, ...], n: int, model_id: str = "test-embedder") -> Embedding:
    """The person's template plus a little per-frame variation (cosine to the template stays above 0.99)."""
    return Embedding(tuple(v + 0.01 * ((n * 7 + i * 3) % 5) for i, v in enumerate(person)), model_id)


def frame(challenge: Challenge, pose: Pose, n: int, *, t_ms: int | None = None, mirrored: bool = False,
          person: tuple[float, ...] = PERSON_A, jitter: float = 0.0) -> FrameObservation:
    yaw, pitch = POSE_ANGLES[pose]
    landmarks = face_landmarks(yaw + jitter + 0.3 * n, pitch, mirrored=mirrored, centre=(320.0 + n, 240.0))
    return FrameObservation(
        captured_at_ms=t_ms if t_ms is not None else 1_700_000_000_000 + 700 * n,
        nonce=challenge.nonce,
        face_count=1,
        mirrored=mirrored,
        pose=estimate_head_pose(landmarks),
        embedding=embedding_of(person, n),
        landmarks=flat(landmarks),
        digest=hashlib.sha256(f"frame-{n}".encode()).digest(),
        thumbnail=bytes((n * 37 + i * 11) % 256 for i in range(64)),
    )


def submission(challenge: Challenge, *, mirrored: bool = False) -> list[FrameObservation]:
    """Starts frontal (as people do), then one frame per asked pose, with a frontal frame between steps."""
    poses: list[Pose] = [Pose.CENTRE]
    for pose in challenge.poses:
        if pose is not Pose.CENTRE and poses[-1] is not Pose.CENTRE:
            poses.append(Pose.CENTRE)
        poses.append(pose)
    return [frame(challenge, p, n, mirrored=mirrored) for n, p in enumerate(poses)]


def a_moment_later(challenge: Challenge, seconds: float = 20.0) -> datetime:
    return challenge.issued_at + timedelta(seconds=seconds)


def challenge_for(*poses: Pose, seed: int = 3) -> Challenge:
    """A real challenge from start_challenge, with its steps replaced by the ones a test needs."""
    issued = start_challenge("session-1", FixedClock(), SeededRandom(seed), CONFIG)
    return replace(issued, steps=tuple(ChallengeStep(p, dict(GUIDANCE[p])) for p in poses))


def with_frame(frames: list[FrameObservation], index: int, **changes: object) -> list[FrameObservation]:
    out = list(frames)
    out[index] = replace(out[index], **changes)  # type: ignore[arg-type]
    return out
